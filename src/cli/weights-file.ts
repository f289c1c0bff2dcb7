// Loads a weight file from disk for the CLI: tensors (float32, for the reference
// and for inspection), derived config, and the file's metadata (safetensors
// __metadata__; empty for .pth). vim-webgpu files (int8/f16) also keep their
// bytes, so the GPU runs them in their own storage type.
import { readFile } from 'node:fs/promises';
import { fileSource } from '../weights/node-source.js';
import { detectFormat, loadVimWeights } from '../weights/index.js';
import { readSafetensorsHeader } from '../weights/safetensors.js';
import { isVimFile, readVimFileHeader, readVimFileStateDict } from '../weights/format-read.js';
import { loadWeights } from '../weights/stream-loader.js';
import { deriveConfig, type VimConfig } from '../model/config.js';
import { VimGpu } from '../model/vim-gpu.js';
import type { GpuContext } from '../gpu/context.js';
import type { StateDict } from '../tensor.js';
import type { WeightDType } from '../weights/weight-dtype.js';

export interface WeightsFile {
  path: string;
  config: VimConfig;
  tensors: StateDict;
  metadata: Record<string, string>;
  /** Storage of the big matrices: f32 for checkpoints, as written for vim-webgpu files. */
  dtype: WeightDType;
  engineFile: boolean;
}

export async function readWeightsFile(path: string): Promise<WeightsFile> {
  const src = await fileSource(path);
  try {
    if (await isVimFile(src)) {
      const header = await readVimFileHeader(src);
      const tensors = await readVimFileStateDict(src, header);
      return { path, config: deriveConfig(tensors, src.name), tensors, metadata: header.metadata, dtype: header.target, engineFile: true };
    }
    const metadata = (await detectFormat(src)) === 'safetensors' ? (await readSafetensorsHeader(src)).metadata : {};
    const { config, tensors } = await loadVimWeights(src);
    return { path, config, tensors, metadata, dtype: 'f32', engineFile: false };
  } finally {
    await src.close();
  }
}

/** The model on the GPU, with int8/f16 matrices kept in their storage type. */
export async function modelOnGpu(ctx: GpuContext, file: WeightsFile): Promise<VimGpu> {
  if (!file.engineFile) return new VimGpu(ctx, file.config, file.tensors);
  const loaded = await loadWeights(ctx, new Uint8Array(await readFile(file.path)), { cache: false });
  return new VimGpu(ctx, loaded.config, loaded.weights);
}
