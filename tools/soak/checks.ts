// The soak's stress checks: many concurrent calls, dispose() while calls are in
// flight, and the device destroyed mid-run. Each reports what happened to every
// call: the right result, a typed VimError (which one), or something else (a bug).
import { DeviceLostError, DisposedError, VimError } from '../../src/errors.js';
import { acquireGpu, releaseGpu } from '../../src/gpu/context.js';
import { nodeGpu } from '../../src/gpu/node.js';
import { VimGpu } from '../../src/model/vim-gpu.js';
import { createClassifier } from '../../src/index.js';
import { maxDiff, softmax, type Case, type Tiny } from './fixtures.js';
import { LOGIT_TOLERANCE } from './soak.js';

export interface CallReport {
  calls: number;
  correct: number;
  /** Typed errors by class name. */
  typed: Record<string, number>;
  /** Wrong results or untyped errors: each is a bug. */
  bugs: string[];
  maxLogitDiff: number;
}

function report(): CallReport {
  return { calls: 0, correct: 0, typed: {}, bugs: [], maxLogitDiff: 0 };
}

/** Sorts one settled call into the report. */
function tally(r: CallReport, settled: PromiseSettledResult<unknown>, check: (v: unknown) => number): void {
  r.calls++;
  if (settled.status === 'rejected') {
    const e = settled.reason as Error;
    if (e instanceof VimError) r.typed[e.name] = (r.typed[e.name] ?? 0) + 1;
    else r.bugs.push(`untyped ${e?.name}: ${e?.message}`);
    return;
  }
  const d = check(settled.value);
  r.maxLogitDiff = Math.max(r.maxLogitDiff, d);
  if (d <= LOGIT_TOLERANCE) r.correct++; else r.bugs.push(`wrong result (max |Δ| ${d})`);
}

/** Never waits forever: a call still pending after `ms` is a hang (a bug). */
function deadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms (hang)`)), ms))]);
}

/** `n` forwards at once through VimGpu, mixing the three images and the batch of two. */
export async function concurrentForwards(tiny: Tiny, n: number): Promise<CallReport> {
  const ctx = await acquireGpu({ gpu: await nodeGpu() });
  const vim = new VimGpu(ctx, tiny.config, tiny.tensors);
  const pick = (i: number): [Case, number] => (i % 7 === 6 ? [tiny.batch2, 2] : [tiny.cases[i % 3], 1]);
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => {
    const [c, b] = pick(i);
    return deadline(vim.forward(c.input, b, 64, 64), 60_000);
  }));
  const r = report();
  settled.forEach((s, i) => tally(r, s, (v) => maxDiff(v as Float32Array, pick(i)[0].logits)));
  vim.dispose();
  releaseGpu(ctx);
  return r;
}

/** `n` classify calls at once through the public API. */
export async function concurrentClassify(tiny: Tiny, n: number): Promise<CallReport> {
  const c = await createClassifier({ weights: tiny.bytes, gpu: await nodeGpu() });
  const expected = tiny.cases.map((k) => softmax(k.logits));
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => deadline(c.classify(tiny.cases[i % 3].input, { topK: 10 }), 60_000)));
  const r = report();
  settled.forEach((s, i) => tally(r, s, (v) => Math.max(...(v as Array<{ index: number; score: number }>).map((p) => Math.abs(p.score - expected[i % 3][p.index])))));
  await c.dispose();
  return r;
}

/**
 * dispose() while calls are in flight: earlier calls finish (or fail typed),
 * calls after it get DisposedError, and every buffer of the model is freed.
 */
export async function disposeDuringInference(tiny: Tiny): Promise<CallReport & { buffersLeft: number }> {
  const ctx = await acquireGpu({ gpu: await nodeGpu() });
  const before = ctx.buffers.liveCount;
  const vim = new VimGpu(ctx, tiny.config, tiny.tensors);
  const calls: Array<Promise<Float32Array>> = [];
  for (let i = 0; i < 20; i++) calls.push(deadline(vim.forward(tiny.cases[i % 3].input, 1, 64, 64), 60_000));
  await new Promise((r) => setTimeout(r, 0));
  vim.dispose();
  for (let i = 0; i < 5; i++) calls.push(deadline(vim.forward(tiny.cases[i % 3].input, 1, 64, 64), 60_000));
  const settled = await Promise.allSettled(calls);
  const r = report();
  settled.forEach((s, i) => tally(r, s, (v) => maxDiff(v as Float32Array, tiny.cases[i % 3].logits)));
  const buffersLeft = ctx.buffers.liveCount - before;
  releaseGpu(ctx);
  // The calls made after dispose() must be the DisposedErrors.
  if (settled.slice(20).some((s) => s.status !== 'rejected' || !(s.reason instanceof DisposedError))) r.bugs.push('a call after dispose() did not get DisposedError');
  return { ...r, buffersLeft };
}

/** The same through the API: classifier.dispose() with classify calls in flight. */
export async function disposeClassifierDuringInference(tiny: Tiny): Promise<CallReport> {
  const c = await createClassifier({ weights: tiny.bytes, gpu: await nodeGpu() });
  const expected = tiny.cases.map((k) => softmax(k.logits));
  const calls = Array.from({ length: 20 }, (_, i) => deadline(c.classify(tiny.cases[i % 3].input, { topK: 10 }), 60_000));
  const disposing = c.dispose();
  calls.push(deadline(c.classify(tiny.cases[0].input), 60_000));
  const settled = await Promise.allSettled(calls);
  await disposing;
  const r = report();
  settled.forEach((s, i) => tally(r, s, (v) => Math.max(...(v as Array<{ index: number; score: number }>).map((p) => Math.abs(p.score - expected[i % 3][p.index])))));
  return r;
}

/**
 * The device destroyed with forwards in flight: each ends correct or with
 * DeviceLostError (never hangs), and later calls fail fast with DeviceLostError.
 */
export async function deviceLossVimGpu(tiny: Tiny): Promise<CallReport & { afterLossMs: number }> {
  const ctx = await acquireGpu({ gpu: await nodeGpu() });
  const vim = new VimGpu(ctx, tiny.config, tiny.tensors);
  await vim.forward(tiny.cases[0].input, 1, 64, 64);
  const calls = Array.from({ length: 10 }, (_, i) => deadline(vim.forward(tiny.cases[i % 3].input, 1, 64, 64), 30_000));
  await new Promise((r) => setTimeout(r, 0));
  ctx.device.destroy();
  const settled = await Promise.allSettled(calls);
  const t0 = performance.now();
  const after = await Promise.allSettled([deadline(vim.forward(tiny.cases[0].input, 1, 64, 64), 30_000)]);
  const afterLossMs = performance.now() - t0;
  const r = report();
  settled.forEach((s, i) => tally(r, s, (v) => maxDiff(v as Float32Array, tiny.cases[i % 3].logits)));
  tally(r, after[0], () => Infinity);
  if (after[0].status !== 'rejected' || !(after[0].reason instanceof DeviceLostError)) r.bugs.push('a call after the loss did not get DeviceLostError');
  vim.dispose();
  releaseGpu(ctx);
  return { ...r, afterLossMs };
}

/**
 * A GPU object that records every device it hands out, so a test can destroy
 * the device the classifier is using right now (also after it re-created one).
 */
function recordingGpu(gpu: GPU, devices: GPUDevice[]): GPU {
  const wrapAdapter = (a: GPUAdapter): GPUAdapter => new Proxy(a, {
    get(target, key) {
      if (key === 'requestDevice') {
        return async (d?: GPUDeviceDescriptor) => { const dev = await target.requestDevice(d); devices.push(dev); return dev; };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    requestAdapter: async (o?: GPURequestAdapterOptions) => { const a = await gpu.requestAdapter(o); return a && wrapAdapter(a); },
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
    get wgslLanguageFeatures() { return gpu.wgslLanguageFeatures; },
    // Keeps Dawn's GPU object reachable for as long as the wrapper is.
    __gpu: gpu,
  } as unknown as GPU;
}

/**
 * Through the API, in a loop: the classifier's current device is destroyed every
 * `every` calls; the call in flight gets DeviceLostError (or its result, if it
 * finished first), and the next call recovers (new device, weights uploaded
 * again) with the official results.
 */
export async function deviceLossRecovery(tiny: Tiny, calls: number, every: number): Promise<CallReport & { losses: number; devices: number }> {
  const devices: GPUDevice[] = [];
  const c = await createClassifier({ weights: tiny.bytes, gpu: recordingGpu(await nodeGpu(), devices) });
  const expected = tiny.cases.map((k) => softmax(k.logits));
  const r = report();
  let losses = 0;
  for (let i = 0; i < calls; i++) {
    const call = deadline(c.classify(tiny.cases[i % 3].input, { topK: 10 }), 60_000);
    if (i % every === every - 1) {
      await new Promise((res) => setTimeout(res, 0));
      devices[devices.length - 1].destroy();
      losses++;
    }
    const [s] = await Promise.allSettled([call]);
    tally(r, s, (v) => Math.max(...(v as Array<{ index: number; score: number }>).map((p) => Math.abs(p.score - expected[i % 3][p.index]))));
  }
  await c.dispose();
  return { ...r, losses, devices: devices.length };
}
