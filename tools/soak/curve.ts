// A resource curve sampled during a soak, and what "flat" means for it: a
// robust slope per 1,000 runs, plus the range after warm-up.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface Sample {
  run: number;
  liveBuffers: number;
  gpuBytes: number;
  heapUsed: number;
  rss: number;
  external: number;
  /** Mean milliseconds per inference since the previous sample. */
  msPerRun: number;
}

export interface SeriesStats {
  min: number;
  max: number;
  first: number;
  last: number;
  /** Theil-Sen slope, in units per 1,000 runs. */
  slopePer1000: number;
}

export function seriesStats(samples: Sample[], key: keyof Sample): SeriesStats {
  const xs = samples.map((s) => s.run), ys = samples.map((s) => s[key]);
  // The slope skips the first tenth of the run: JIT tiers and inline caches still settle there.
  const from = Math.min(Math.ceil(samples.length / 10), Math.max(0, samples.length - 2));
  return {
    min: Math.min(...ys), max: Math.max(...ys), first: ys[0], last: ys[ys.length - 1],
    slopePer1000: theilSen(xs.slice(from), ys.slice(from)) * 1000,
  };
}

/**
 * The median of the slopes between every pair of samples (Theil-Sen): a leak
 * moves it, one sample caught with garbage or a batch in flight does not.
 */
function theilSen(xs: number[], ys: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) if (xs[j] !== xs[i]) slopes.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
  }
  if (!slopes.length) return 0;
  slopes.sort((a, b) => a - b);
  const m = slopes.length >> 1;
  return slopes.length % 2 ? slopes[m] : (slopes[m - 1] + slopes[m]) / 2;
}

/**
 * A full garbage collection: global.gc under --expose-gc, else the same function
 * obtained by turning the flag on at run time (works under vitest's workers too).
 */
export function fullGc(): void {
  const g = globalThis as { gc?: () => void };
  if (!g.gc) {
    v8.setFlagsFromString('--expose-gc');
    g.gc = runInNewContext('gc') as () => void;
  }
  g.gc!();
}

export function sampleMemory(run: number, liveBuffers: number, gpuBytes: number, msPerRun: number): Sample {
  // A full collection first, so the heap figure is what is retained, not garbage not yet collected.
  fullGc();
  const m = process.memoryUsage();
  return { run, liveBuffers, gpuBytes, heapUsed: m.heapUsed, rss: m.rss, external: m.external, msPerRun };
}
