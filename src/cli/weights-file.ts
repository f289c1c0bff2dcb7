// Loads a weight file from disk for the CLI: tensors, derived config, and the
// file's metadata (safetensors __metadata__; empty for .pth).
import { fileSource } from '../weights/node-source.js';
import { detectFormat, loadVimWeights } from '../weights/index.js';
import { readSafetensorsHeader } from '../weights/safetensors.js';
import type { VimConfig } from '../model/config.js';
import type { StateDict } from '../tensor.js';

export interface WeightsFile {
  config: VimConfig;
  tensors: StateDict;
  metadata: Record<string, string>;
}

export async function readWeightsFile(path: string): Promise<WeightsFile> {
  const src = await fileSource(path);
  try {
    const metadata = (await detectFormat(src)) === 'safetensors' ? (await readSafetensorsHeader(src)).metadata : {};
    const { config, tensors } = await loadVimWeights(src);
    return { config, tensors, metadata };
  } finally {
    await src.close();
  }
}
