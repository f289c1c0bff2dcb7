// Shared checks of the reference tests: compare against a fixture with a stated
// tolerance, remember the worst error per case (printed at the end, so the
// numbers can be reported), and convert fixture layouts to the reference's.
import { expect } from 'vitest';
import { compare } from './fixtures.js';

/** The fixtures' stated budget for a float64 reference (README: it lands within ~1e-5). */
export const ATOL = 1e-4;
export const RTOL = 1e-4;

export interface ErrorLog {
  check(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): number;
  print(title: string): void;
}

/** Collects max |Δ| per label; each check fails the test if allclose(ATOL, RTOL) does not hold. */
export function errorLog(): ErrorLog {
  const rows: Array<[string, number]> = [];
  return {
    check(label, actual, expected) {
      const { maxAbs, worst, ok } = compare(actual, expected, ATOL, RTOL);
      rows.push([label, maxAbs]);
      expect(ok, `${label}: max |Δ| ${maxAbs.toExponential(2)} at ${worst}`).toBe(true);
      return maxAbs;
    },
    print(title) {
      // Per-layer labels `name@i` are summarised as one line: the worst layer.
      const worst = new Map<string, number>();
      for (const [label, e] of rows) {
        const key = label.includes('@') ? `${label.split('@')[0]} (worst layer)` : label;
        worst.set(key, Math.max(worst.get(key) ?? 0, e));
      }
      const width = Math.max(...[...worst.keys()].map((l) => l.length));
      const lines = [...worst].map(([l, e]) => `  ${l.padEnd(width)}  ${e.toExponential(2)}`);
      console.log(`${title}: max abs error\n${lines.join('\n')}`);
    },
  };
}

/** Indices of the k largest values, largest first. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[b] - values[a]).slice(0, k);
}

/**
 * A fixture in the mixer's channel-major layout (1, C, L) as token-major (L, C), in
 * original token order. `flipped`: the fixture holds the backward direction as the
 * official code computes it, token index 0 = last token.
 */
export function tokenMajor(fixture: Float32Array, C: number, L: number, flipped: boolean): Float64Array {
  const out = new Float64Array(L * C);
  for (let t = 0; t < L; t++) {
    const src = flipped ? L - 1 - t : t;
    for (let c = 0; c < C; c++) out[t * C + c] = fixture[c * L + src];
  }
  return out;
}

/** Captured intermediates of a reference run, keyed `name` or `name@layer`. */
export function captureStore(): { map: Map<string, Float64Array>; capture: (name: string, layer: number, v: Float64Array) => void } {
  const map = new Map<string, Float64Array>();
  return { map, capture: (name, layer, v) => map.set(layer < 0 ? name : `${name}@${layer}`, v) };
}
