// The WebGPU backend of the CLI: Dawn through the `webgpu` package.
import { acquireGpu, releaseGpu } from '../gpu/context.js';
import { nodeGpu } from '../gpu/node.js';
import { modelOnGpu, type WeightsFile } from './weights-file.js';

export async function runOnNodeGpu(file: WeightsFile, input: Float32Array, batch: number, h: number, w: number, stride?: number): Promise<Float32Array> {
  const ctx = await acquireGpu({ gpu: await nodeGpu() });
  try {
    const model = await modelOnGpu(ctx, file);
    const logits = await model.forward(input, batch, h, w, stride);
    model.dispose();
    return logits;
  } finally {
    releaseGpu(ctx);
  }
}
