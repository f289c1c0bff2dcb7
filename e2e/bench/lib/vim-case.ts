// A Vim case in our engine: procedural weights (Vim-Ti / Vim-S architecture, a
// position table for the resolution), a fresh device, VimGpu used directly.
import { acquireGpu, releaseGpu } from '../../../src/gpu/context.js';
import { proceduralWeights } from '../../../src/model/procedural.js';
import { VimGpu } from '../../../src/model/vim-gpu.js';
import { baseResult, timeRuns, withTiming, type CaseResult, type CaseSpec } from './cases.js';
import type { MemoryTracker } from './gpu-memory.js';
import { MODELS, benchInput, tokensAt, vimConfig, PATCH } from './models.js';

export async function runVimCase(gpu: GPU, spec: CaseSpec, memory: MemoryTracker): Promise<CaseResult> {
  const info = MODELS[spec.model];
  const tokens = tokensAt(spec.size);
  const cfg = vimConfig(info.embedDim, tokens);
  // Generated before the clock starts: making weights is no part of running a model.
  const weights = proceduralWeights(cfg, info.seed!);
  const input = benchInput(spec.batch, spec.size);
  memory.reset();
  const ctx = await acquireGpu({ gpu });
  let vim: VimGpu | undefined;
  try {
    const t0 = performance.now();
    vim = new VimGpu(ctx, cfg, weights);
    await ctx.device.queue.onSubmittedWorkDone();
    const loadMs = performance.now() - t0;
    const loadedBytes = memory.live;
    let logits: Float32Array = new Float32Array(0);
    const model = vim;
    const timing = await timeRuns(async () => {
      logits = await model.forward(input, spec.batch, spec.size, spec.size, PATCH);
    }, spec);
    return withTiming({
      ...baseResult(spec, 'vim', tokens), loadMs, loadedBytes, peakBytes: memory.peak, maxBufferBytes: memory.maxBuffer,
      enginePeakBytes: ctx.buffers.peakBytes, logitsFinite: logits.length > 0 && logits.every(Number.isFinite),
    }, timing);
  } finally {
    vim?.dispose();
    releaseGpu(ctx);
  }
}
