// Which cases to run, in which order, and which to skip: shared by the Playwright
// driver and the Node runner. Cases are interleaved (at each resolution Vim-Ti,
// DeiT-Ti, Vim-S, DeiT-S) so that a ratio compares runs made close together in time,
// which matters on a machine whose other load changes. A case predicted (from the
// same model at the previous resolution, or from batch 1) to overrun its budget or
// the GPU's buffer limit is skipped with the reason instead of being started.
import type { CaseResult, CaseSpec, OrtBuild } from './cases.js';
import { MODELS, SIZES, isModelName, relativeCost, tokensAt, type ModelName } from './models.js';

export interface BenchOptions {
  models: ModelName[];
  sizes: number[];
  batches: number[];
  warmup: number;
  runs: number;
  /** Per case, after loading (s). */
  caseBudgetS: number;
  /** For the whole run (s): later cases are skipped once it is spent. */
  totalBudgetS: number;
  ort: OrtBuild;
  /** Skip a larger batch predicted to need more than this many MiB of buffers (0: no limit). */
  memLimitMiB: number;
  quick: boolean;
}

/**
 * Full: every model and size, 10 runs. Quick: what a software adapter on a shared
 * 2-core machine gets through in about 15 minutes (a Vim-Ti forward at 224 px took
 * 10-30 s there, DeiT-Ti's ORT session a minute to create).
 */
export function defaultOptions(quick: boolean): BenchOptions {
  return quick
    ? { models: ['vim_ti', 'deit_ti'], sizes: [224, 384], batches: [1], warmup: 0, runs: 3, caseBudgetS: 300, totalBudgetS: 900, ort: 'webgpu', memLimitMiB: 0, quick }
    : { models: ['vim_ti', 'deit_ti', 'vim_s', 'deit_s'], sizes: SIZES, batches: [1, 8], warmup: 3, runs: 10, caseBudgetS: 60, totalBudgetS: 3000, ort: 'webgpu', memLimitMiB: 0, quick };
}

/** Options from BENCH_* environment variables (what e2e/bench/run.sh sets from its flags). */
export function optionsFromEnv(env: Record<string, string | undefined>): BenchOptions {
  const o = defaultOptions(env.BENCH_QUICK === '1');
  const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const nums = (v: string, what: string) => list(v).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${what}: '${s}' is not a positive integer`);
    return n;
  });
  if (env.BENCH_MODELS) {
    const bad = list(env.BENCH_MODELS).find((m) => !isModelName(m));
    if (bad) throw new Error(`BENCH_MODELS: unknown model '${bad}' (${Object.keys(MODELS).join(', ')})`);
    o.models = list(env.BENCH_MODELS) as ModelName[];
  }
  if (env.BENCH_SIZES) o.sizes = nums(env.BENCH_SIZES, 'BENCH_SIZES').filter((s) => s >= 16);
  if (env.BENCH_BATCHES) o.batches = nums(env.BENCH_BATCHES, 'BENCH_BATCHES');
  if (env.BENCH_RUNS) o.runs = Math.max(2, nums(env.BENCH_RUNS, 'BENCH_RUNS')[0]);
  if (env.BENCH_WARMUP) o.warmup = Number(env.BENCH_WARMUP) || 0;
  if (env.BENCH_CASE_BUDGET_S) o.caseBudgetS = nums(env.BENCH_CASE_BUDGET_S, 'BENCH_CASE_BUDGET_S')[0];
  if (env.BENCH_TOTAL_BUDGET_S) o.totalBudgetS = nums(env.BENCH_TOTAL_BUDGET_S, 'BENCH_TOTAL_BUDGET_S')[0];
  if (env.BENCH_MEM_LIMIT_MIB) o.memLimitMiB = nums(env.BENCH_MEM_LIMIT_MIB, 'BENCH_MEM_LIMIT_MIB')[0];
  if (env.BENCH_ORT) {
    if (env.BENCH_ORT !== 'webgpu' && env.BENCH_ORT !== 'jsep') throw new Error(`BENCH_ORT: 'webgpu' or 'jsep', not '${env.BENCH_ORT}'`);
    o.ort = env.BENCH_ORT;
  }
  return o;
}

/** Batch 1 at every size first (the figure needs it), then larger batches. */
export function caseOrder(o: BenchOptions): Array<Pick<CaseSpec, 'model' | 'size' | 'batch'>> {
  const out: Array<Pick<CaseSpec, 'model' | 'size' | 'batch'>> = [];
  const sizes = [...o.sizes].sort((a, b) => a - b);
  for (const batch of [...o.batches].sort((a, b) => a - b)) {
    for (const size of sizes) for (const model of o.models) out.push({ model, size, batch });
  }
  return out;
}

export type Decision = { spec: CaseSpec } | { skip: string };

/** Decides each case from the results so far. */
export class Scheduler {
  private readonly done: CaseResult[] = [];
  private readonly started = Date.now();

  /** maxBinding: the largest storage buffer binding the adapter allows. */
  constructor(readonly options: BenchOptions, private readonly maxBinding: number) {}

  record(r: CaseResult): void {
    this.done.push(r);
  }

  get results(): readonly CaseResult[] {
    return this.done;
  }

  decide(c: Pick<CaseSpec, 'model' | 'size' | 'batch'>): Decision {
    const o = this.options;
    const same = this.done.filter((r) => r.model === c.model && r.batch === c.batch && r.size < c.size);
    const blocked = same.find((r) => r.status !== 'ok');
    if (blocked) return { skip: `not run: ${blocked.size} px was ${blocked.status}` };

    // Time from the nearest measured case: the compile part of its first run stays, the
    // forward scales with multiply-adds (linear in tokens for Vim; attention's L² for
    // DeiT) or with the batch. Memory scales with the batch; DeiT's largest buffer (the
    // attention scores) with L², Vim's with L.
    const ok = same.filter((r) => r.status === 'ok').sort((a, b) => a.size - b.size);
    const base1 = c.batch > 1 ? this.done.find((r) => r.model === c.model && r.size === c.size && r.batch === 1 && r.status === 'ok') : undefined;
    const from = base1 ?? ok[ok.length - 1];
    let runMs: number | undefined, firstMs: number | undefined, peak: number | undefined, maxBuf: number | undefined;
    if (from) {
      const grow = base1 ? c.batch : relativeCost(c.model, c.size) / relativeCost(c.model, from.size);
      const compileMs = Math.max(0, from.firstRunMs! - from.latencyMs!);
      runMs = from.latencyMs! * grow;
      firstMs = compileMs + runMs;
      if (base1) {
        peak = base1.loadedBytes! + (base1.peakBytes! - base1.loadedBytes!) * c.batch;
        maxBuf = base1.maxBufferBytes! * c.batch;
      } else {
        maxBuf = from.maxBufferBytes! * (tokensAt(c.size) / from.tokens) ** (MODELS[c.model].arch === 'vim' ? 1 : 2);
      }
    }
    if (maxBuf !== undefined && maxBuf > this.maxBinding) {
      return { skip: `a buffer of ~${(maxBuf / 2 ** 20).toFixed(0)} MiB predicted, above the adapter's ${(this.maxBinding / 2 ** 20).toFixed(0)} MiB binding limit` };
    }
    if (peak !== undefined && o.memLimitMiB > 0 && peak > o.memLimitMiB * 2 ** 20) {
      return { skip: `~${(peak / 2 ** 20).toFixed(0)} MiB of buffers predicted, above the ${o.memLimitMiB} MiB limit` };
    }
    const budgetMs = o.caseBudgetS * 1000;
    if (runMs !== undefined && firstMs !== undefined && firstMs + 2 * runMs > budgetMs) {
      return { skip: `predicted ${((firstMs + 2 * runMs) / 1000).toFixed(0)} s for the first run + 2 runs > case budget ${o.caseBudgetS} s` };
    }
    const leftMs = o.totalBudgetS * 1000 - (Date.now() - this.started);
    const needMs = runMs !== undefined && firstMs !== undefined ? firstMs + 2 * runMs : 0;
    if (leftMs <= 0 || needMs > leftMs) return { skip: `total budget of ${o.totalBudgetS} s spent` };
    return { spec: { ...c, warmup: o.warmup, runs: o.runs, budgetMs: Math.min(budgetMs, leftMs), ort: o.ort } };
  }
}

/** The result of a case that did not run. */
export function skippedResult(c: Pick<CaseSpec, 'model' | 'size' | 'batch'>, status: 'skipped' | 'failed', note: string): CaseResult {
  return {
    model: c.model, arch: MODELS[c.model].arch, engine: MODELS[c.model].arch === 'vim' ? 'vim-webgpu' : 'onnxruntime-web',
    size: c.size, batch: c.batch, tokens: tokensAt(c.size), status, note,
  };
}
