// The long-running part of the soak: N inferences of the tiny model, one after
// the other, sampling live GPU buffers, GPU bytes and the JS heap (after a full
// GC when --expose-gc is on) every `every` runs, and checking every result
// against the official logits. Through VimGpu (the engine, where the buffer
// registry is visible) or through createClassifier (the public API).
import { acquireGpu, releaseGpu } from '../../src/gpu/context.js';
import { nodeGpu } from '../../src/gpu/node.js';
import { VimGpu } from '../../src/model/vim-gpu.js';
import { createClassifier } from '../../src/index.js';
import { sampleMemory, seriesStats, type Sample, type SeriesStats } from './curve.js';
import { maxDiff, softmax, type Tiny } from './fixtures.js';

export type Via = 'vimgpu' | 'api';

export interface SoakOptions {
  via: Via;
  runs: number;
  every: number;
  onSample?: (s: Sample) => void;
}

export interface SoakResult {
  via: Via;
  runs: number;
  seconds: number;
  samples: Sample[];
  stats: Record<'liveBuffers' | 'gpuBytes' | 'heapUsed' | 'rss' | 'external', SeriesStats>;
  /** Results that differed from the official ones beyond the tolerance. */
  wrong: number;
  maxLogitDiff: number;
  /** GPU buffers still registered after dispose() (VimGpu only; must be 0). */
  leftAfterDispose: number;
}

/** Logits of the fixture model agree with PyTorch's within this (as in the model tests). */
export const LOGIT_TOLERANCE = 1e-4;

export async function soak(tiny: Tiny, o: SoakOptions): Promise<SoakResult> {
  const t0 = performance.now();
  const r = o.via === 'vimgpu' ? await soakVimGpu(tiny, o) : await soakApi(tiny, o);
  const keys = ['liveBuffers', 'gpuBytes', 'heapUsed', 'rss', 'external'] as const;
  // The first sample is taken after warm-up, so pipelines and plans already exist.
  const stats = Object.fromEntries(keys.map((k) => [k, seriesStats(r.samples, k)])) as SoakResult['stats'];
  return { via: o.via, runs: o.runs, seconds: (performance.now() - t0) / 1000, stats, ...r };
}

type Partial = Pick<SoakResult, 'samples' | 'wrong' | 'maxLogitDiff' | 'leftAfterDispose'>;

async function soakVimGpu(tiny: Tiny, o: SoakOptions): Promise<Partial> {
  const ctx = await acquireGpu({ gpu: await nodeGpu() });
  const before = ctx.buffers.liveCount;
  const vim = new VimGpu(ctx, tiny.config, tiny.tensors);
  const samples: Sample[] = [];
  let wrong = 0, worst = 0, last = performance.now();
  const step = async (i: number) => {
    // Every 10th run is the batch of two, so two plans stay in use.
    const c = i % 10 === 9 ? tiny.batch2 : tiny.cases[i % 3];
    const logits = await vim.forward(c.input, c === tiny.batch2 ? 2 : 1, 64, 64);
    const d = maxDiff(logits, c.logits);
    worst = Math.max(worst, d);
    if (!(d <= LOGIT_TOLERANCE)) wrong++;
  };
  for (let i = 0; i < 10; i++) await step(i);   // warm-up: pipelines, both plans
  for (let i = 0; i <= o.runs; i++) {
    if (i % o.every === 0) {
      const now = performance.now();
      const s = sampleMemory(i, ctx.buffers.liveCount, ctx.buffers.bytesInUse, i ? (now - last) / o.every : 0);
      last = now;
      samples.push(s);
      o.onSample?.(s);
    }
    if (i < o.runs) await step(i);
  }
  vim.dispose();
  const leftAfterDispose = ctx.buffers.liveCount - before;
  releaseGpu(ctx);
  return { samples, wrong, maxLogitDiff: worst, leftAfterDispose };
}

async function soakApi(tiny: Tiny, o: SoakOptions): Promise<Partial> {
  const gpu = await nodeGpu();
  const c = await createClassifier({ weights: tiny.bytes, gpu });
  const expected = tiny.cases.map((k) => softmax(k.logits));
  const samples: Sample[] = [];
  let wrong = 0, worst = 0, last = performance.now();
  const step = async (i: number) => {
    const k = i % 3;
    const top = await c.classify(tiny.cases[k].input, { topK: 3 });
    for (const p of top) {
      const d = Math.abs(p.score - expected[k][p.index]);
      worst = Math.max(worst, d);
      if (!(d <= LOGIT_TOLERANCE)) wrong++;
    }
    // The ranking must be the official one too.
    const want = expected[k].map((v, j) => [v, j]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, j]) => j);
    if (top.map((p) => p.index).join() !== want.join()) wrong++;
  };
  for (let i = 0; i < 10; i++) await step(i);
  for (let i = 0; i <= o.runs; i++) {
    if (i % o.every === 0) {
      const now = performance.now();
      const s = sampleMemory(i, -1, c.info().memoryBytes, i ? (now - last) / o.every : 0);
      last = now;
      samples.push(s);
      o.onSample?.(s);
    }
    if (i < o.runs) await step(i);
  }
  await c.dispose();
  return { samples, wrong, maxLogitDiff: worst, leftAfterDispose: 0 };
}
