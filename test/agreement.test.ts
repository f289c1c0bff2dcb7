// Logit agreement (src/eval/agreement.ts) against a direct float64 computation on
// fresh random logits, fed in uneven batches.
import { describe, expect, test } from 'vitest';
import { AgreementMeter, logitAgreement } from '../src/eval/agreement.js';

function randomLogits(n: number, c: number, scale = 3): Float32Array {
  return Float32Array.from({ length: n * c }, () => (Math.random() * 2 - 1) * scale);
}

function direct(ref: Float32Array, other: Float32Array, c: number) {
  let agree = 0, maxAbs = 0, minCos = 1, sumCos = 0;
  const n = ref.length / c;
  for (let i = 0; i < n; i++) {
    let ab = 0, aa = 0, bb = 0, ra = 0, ga = 0;
    for (let j = 0; j < c; j++) {
      const r = ref[i * c + j], g = other[i * c + j];
      maxAbs = Math.max(maxAbs, Math.abs(r - g)); ab += r * g; aa += g * g; bb += r * r;
      if (r > ref[i * c + ra]) ra = j;
      if (g > other[i * c + ga]) ga = j;
    }
    const cos = ab / Math.sqrt(aa * bb);
    minCos = Math.min(minCos, cos); sumCos += cos;
    if (ra === ga) agree++;
  }
  return { images: n, top1Agreement: agree / n, maxAbsLogit: maxAbs, minCosine: minCos, meanCosine: sumCos / n };
}

describe('logit agreement', () => {
  const c = 7 + Math.floor(Math.random() * 20), n = 50 + Math.floor(Math.random() * 50);

  test('a run against itself: full agreement, no difference', () => {
    const ref = randomLogits(n, c);
    expect(logitAgreement(ref, ref.slice(), c)).toEqual({ images: n, top1Agreement: 1, maxAbsLogit: 0, minCosine: expect.closeTo(1, 12), meanCosine: expect.closeTo(1, 12) });
  });

  test('noisy run, fed in uneven batches: equals the direct computation', () => {
    const ref = randomLogits(n, c);
    const other = ref.map((v) => v + (Math.random() - 0.5) * 2);
    const meter = new AgreementMeter(c);
    for (let at = 0, step = 1; at < n; at += step, step = step * 2 + 1) {
      const end = Math.min(n, at + step);
      meter.add(ref.subarray(at * c, end * c), other.subarray(at * c, end * c));
    }
    const got = meter.result(), want = direct(ref, other, c);
    expect(got.images).toBe(want.images);
    expect(got.top1Agreement).toBe(want.top1Agreement);
    expect(got.top1Agreement).toBeLessThan(1);   // the noise is large enough to flip some
    expect(got.maxAbsLogit).toBeCloseTo(want.maxAbsLogit, 12);
    expect(got.minCosine).toBeCloseTo(want.minCosine, 12);
    expect(got.meanCosine).toBeCloseTo(want.meanCosine, 12);
  });

  test('an all-zero row counts as opposite, not as NaN', () => {
    const ref = Float32Array.from([1, 2, 3, 0, 0, 0]), other = Float32Array.from([1, 2, 3, 1, 0, 0]);
    const r = logitAgreement(ref, other, 3);
    expect(r.minCosine).toBe(0);
    expect(Number.isNaN(r.meanCosine)).toBe(false);
  });

  test('arrays that are not the same whole rows are refused', () => {
    expect(() => logitAgreement(new Float32Array(10), new Float32Array(12), 5)).toThrow(RangeError);
    expect(() => logitAgreement(new Float32Array(11), new Float32Array(11), 5)).toThrow(/whole rows of 5/);
    expect(() => new AgreementMeter(0)).toThrow(RangeError);
  });
});
