// Unit checks of the reference operators on small inputs: hand-computed values,
// and the two "backward without flips" claims of docs/model.md §2.5 (anti-causal conv,
// reversed scan) against a literal flip → forward op → flip.
import { describe, expect, it } from 'vitest';
import { InputError, ModelShapeError } from '../src/errors.js';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { conv1dSilu, linear, patchEmbed, rmsNorm, selectiveScan, silu, softplus } from '../src/reference/ops.js';
import { referenceForward } from '../src/reference/vim.js';

/** Deterministic values in [−1, 1) (a small LCG), so failures reproduce. */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Reverses the token axis of (L, C). */
function flipTokens(x: ArrayLike<number>, L: number, C: number): Float64Array {
  const out = new Float64Array(L * C);
  for (let t = 0; t < L; t++) for (let c = 0; c < C; c++) out[t * C + c] = x[(L - 1 - t) * C + c];
  return out;
}

function expectAllClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}`).toBeLessThanOrEqual(tol);
}

describe('reference ops', () => {
  it('linear: y = x·Wᵀ + b', () => {
    const y = linear([1, 2, 3, 4, 5, 6], 2, 3, [1, 0, -1, 0.5, 0.5, 0.5], 2, [10, 20]);
    expect(Array.from(y)).toEqual([1 - 3 + 10, 3 + 20, 4 - 6 + 10, 7.5 + 20]);
  });

  it('rmsNorm: x·w / sqrt(mean(x²) + eps)', () => {
    const y = rmsNorm([3, 4], 1, 2, [1, 2], 0.5);
    const inv = 1 / Math.sqrt(12.5 + 0.5);
    expectAllClose(y, [3 * inv, 8 * inv], 1e-15);
  });

  it('softplus has PyTorch threshold 20; silu = v·sigmoid(v)', () => {
    expect(softplus(20.5)).toBe(20.5);
    expect(softplus(20)).toBeCloseTo(Math.log1p(Math.exp(20)), 15);
    expect(softplus(0)).toBeCloseTo(Math.LN2, 15);
    expect(softplus(-50)).toBeGreaterThan(0);
    expect(silu(0)).toBe(0);
    expect(silu(2)).toBeCloseTo(2 / (1 + Math.exp(-2)), 15);
  });

  it('conv1dSilu causal: tap K−1 is the current token, zero padding before token 0', () => {
    const L = 5, E = 1, K = 4;
    const x = [1, 2, 3, 4, 5], w = [0.1, 0.2, 0.3, 0.4], b = [0.05];
    const y = conv1dSilu(x, L, E, w, b, K, false);
    expect(y[0]).toBeCloseTo(silu(0.05 + 0.4 * 1), 15);
    expect(y[4]).toBeCloseTo(silu(0.05 + 0.1 * 2 + 0.2 * 3 + 0.3 * 4 + 0.4 * 5), 15);
  });

  it('conv1dSilu reverse equals flip → causal conv → flip', () => {
    const L = 9, E = 5, K = 4;
    const x = values(L * E, 1), w = values(E * K, 2), b = values(E, 3);
    const viaFlip = flipTokens(conv1dSilu(flipTokens(x, L, E), L, E, w, b, K, false), L, E);
    expectAllClose(conv1dSilu(x, L, E, w, b, K, true), viaFlip, 1e-15);
  });

  it('selectiveScan: one token, one channel, by hand', () => {
    const d = 0.3, u = 0.7, A = [-1, -2], B = [0.5, -0.25], C = [2, 4], D = [1.5], z = 0.9;
    const y = selectiveScan({ L: 1, E: 1, N: 2, u: [u], delta: [d], A, B, C, D, z: [z], reverse: false });
    // h starts at 0, so h = Δ·B·u (Euler B̄) regardless of Ā.
    const expected = (d * u * (0.5 * 2 - 0.25 * 4) + 1.5 * u) * silu(z);
    expect(y[0]).toBeCloseTo(expected, 15);
  });

  it('selectiveScan reverse equals flip → forward scan → flip', () => {
    const L = 7, E = 3, N = 4;
    const tok = (seed: number, C: number) => values(L * C, seed);
    const A = values(E * N, 10).map((v) => -Math.exp(v));
    const delta = tok(11, E).map((v) => softplus(v));
    const u = tok(12, E), B = tok(13, N), C = tok(14, N), z = tok(15, E), D = values(E, 16);
    const reversed = selectiveScan({ L, E, N, u, delta, A, B, C, D, z, reverse: true });
    const forwardOnFlipped = selectiveScan({
      L, E, N, A, D, reverse: false,
      u: flipTokens(u, L, E), delta: flipTokens(delta, L, E), B: flipTokens(B, L, N),
      C: flipTokens(C, L, N), z: flipTokens(z, L, E),
    });
    expectAllClose(reversed, flipTokens(forwardOnFlipped, L, E), 1e-14);
  });

  it('patchEmbed matches a direct strided convolution, patches row-major', () => {
    const H = 11, W = 13, P = 4, S = 3, D = 2; // grid 3 x 4, remainders dropped
    const img = values(3 * H * W, 20), w = values(D * 3 * P * P, 21), b = values(D, 22);
    const y = patchEmbed(img, H, W, w, b, D, P, S);
    const gh = 3, gw = 4;
    expect(y.length).toBe(gh * gw * D);
    for (let r = 0; r < gh; r++) {
      for (let c = 0; c < gw; c++) {
        for (let o = 0; o < D; o++) {
          let acc = b[o];
          for (let ch = 0; ch < 3; ch++) {
            for (let i = 0; i < P; i++) {
              for (let j = 0; j < P; j++) {
                acc += w[((o * 3 + ch) * P + i) * P + j] * img[(ch * H + r * S + i) * W + c * S + j];
              }
            }
          }
          expect(y[(r * gw + c) * D + o]).toBeCloseTo(acc, 13);
        }
      }
    }
  });

  it('referenceForward rejects a wrong input size and a position table that fits no stride', () => {
    const cfg = proceduralConfig(32, 17, 1); // 64x64 at stride 16
    const sd = proceduralWeights(cfg, 1);
    expect(() => referenceForward(sd, cfg, new Float32Array(10), 1, 64, 64)).toThrow(InputError);
    expect(() => referenceForward(sd, cfg, new Float32Array(3 * 80 * 80), 1, 80, 80)).toThrow(ModelShapeError);
    expect(() => referenceForward(sd, cfg, new Float32Array(3 * 64 * 64), 1, 64, 64, { stride: 8 })).toThrow(ModelShapeError);
  });
});
