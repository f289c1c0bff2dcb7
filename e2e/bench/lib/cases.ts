// One benchmark case (a model at a resolution and batch) as both runtimes run it:
// what is asked, what comes back, and the timing loop they share.
import type { Arch, ModelName } from './models.js';

/** Which ONNX Runtime Web build runs DeiT: `onnxruntime-web/webgpu` (the C++ WebGPU EP
 *  compiled to WebAssembly, what ORT's docs say to import for WebGPU) or the default
 *  `onnxruntime-web` build, whose WebGPU kernels are written in JS (JSEP). */
export type OrtBuild = 'webgpu' | 'jsep';

export interface CaseSpec {
  model: ModelName;
  size: number;
  batch: number;
  /** Untimed runs after the first one. */
  warmup: number;
  /** Timed runs wanted; fewer are made when the case budget runs out (at least 2). */
  runs: number;
  /** Wall-clock budget of the case after loading, in ms. */
  budgetMs: number;
  ort: OrtBuild;
}

export type CaseStatus = 'ok' | 'skipped' | 'failed';

export interface CaseResult {
  model: ModelName;
  arch: Arch;
  engine: 'vim-webgpu' | 'onnxruntime-web';
  size: number;
  batch: number;
  tokens: number;
  status: CaseStatus;
  /** Why a case was skipped or failed; what was cut short. */
  note?: string;
  /** Model creation: weight upload (Vim); session creation incl. graph optimisation (ORT). */
  loadMs?: number;
  /** The first forward pass: includes shader and pipeline compilation. */
  firstRunMs?: number;
  /** Median over the timed runs: input upload, forward, logits read back. */
  latencyMs?: number;
  latenciesMs?: number[];
  imagesPerSecond?: number;
  /** Highest bytes of live GPU buffers during the case (weights included). */
  peakBytes?: number;
  /** Live bytes right after loading: about the weights. */
  loadedBytes?: number;
  maxBufferBytes?: number;
  /** Vim only: the engine's own count (its BufferRegistry), a cross-check of peakBytes. */
  enginePeakBytes?: number;
  /** DeiT at small sizes: largest |ORT − PyTorch| over the first logits. */
  maxAbsErrVsTorch?: number;
  logitsFinite?: boolean;
}

export interface Timing {
  firstRunMs: number;
  latenciesMs: number[];
  /** Runs left out to stay within the budget. */
  cut: number;
}

/**
 * The first run (timed apart: it compiles pipelines), then warm-ups, then timed runs.
 * Stops adding runs once the next one would overrun the budget, after at least two
 * timed runs: a median of two says something, a skipped case says nothing.
 */
export async function timeRuns(run: () => Promise<void>, spec: Pick<CaseSpec, 'warmup' | 'runs' | 'budgetMs'>): Promise<Timing> {
  const now = () => performance.now();
  const start = now();
  await run();
  const firstRunMs = now() - start;
  let last = firstRunMs;
  const fits = () => now() - start + last <= spec.budgetMs;
  for (let i = 0; i < spec.warmup && fits(); i++) {
    const t = now();
    await run();
    last = now() - t;
  }
  const latenciesMs: number[] = [];
  while (latenciesMs.length < spec.runs && (latenciesMs.length < 2 || fits())) {
    const t = now();
    await run();
    last = now() - t;
    latenciesMs.push(last);
  }
  return { firstRunMs, latenciesMs, cut: spec.runs - latenciesMs.length };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The fields every result has, from its spec. */
export function baseResult(spec: CaseSpec, arch: Arch, tokens: number): CaseResult {
  return {
    model: spec.model, arch, engine: arch === 'vim' ? 'vim-webgpu' : 'onnxruntime-web',
    size: spec.size, batch: spec.batch, tokens, status: 'ok',
  };
}

/** Fills the timing fields of a result. */
export function withTiming(r: CaseResult, t: Timing): CaseResult {
  const latencyMs = median(t.latenciesMs);
  return {
    ...r, firstRunMs: t.firstRunMs, latencyMs, latenciesMs: t.latenciesMs,
    imagesPerSecond: r.batch / (latencyMs / 1000),
    note: t.cut > 0 ? [r.note, `${t.latenciesMs.length} timed runs (budget)`].filter(Boolean).join('; ') : r.note,
  };
}
