// The WebGPU backend of the CLI: Dawn through the `webgpu` package.
import { acquireGpu, releaseGpu } from '../gpu/context.js';
import { nodeGpu } from '../gpu/node.js';
import { VimGpu } from '../model/vim-gpu.js';
import type { VimConfig } from '../model/config.js';
import type { StateDict } from '../tensor.js';

export async function runOnNodeGpu(sd: StateDict, cfg: VimConfig, input: Float32Array, batch: number, h: number, w: number, stride?: number): Promise<Float32Array> {
  const ctx = await acquireGpu({ gpu: await nodeGpu() });
  try {
    const model = new VimGpu(ctx, cfg, sd);
    const logits = await model.forward(input, batch, h, w, stride);
    model.dispose();
    return logits;
  } finally {
    releaseGpu(ctx);
  }
}
