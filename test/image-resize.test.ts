// Properties of the Pillow-exact bicubic resampler that hold for Pillow by
// construction. Bit-exactness against Pillow itself is pinned by the
// reference tensors in image.test.ts (a 96×80 → 87×73 and a 400×300 →
// 341×256 downscale, and a 400×300 → 486×365 upscale, both passes each).
import { describe, expect, test } from 'vitest';
import { bicubicCoefficients, PRECISION_BITS, resizeBicubic } from '../src/image/resize.js';
import type { RgbImage } from '../src/image/rgb-image.js';

/** Deterministic pseudo-random RGB image (xorshift), so edges and extremes occur. */
function noiseImage(width: number, height: number, seed = 12345): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    data[i] = s & 255;
  }
  return { width, height, data };
}

function transpose(img: RgbImage): RgbImage {
  const out = { width: img.height, height: img.width, data: new Uint8Array(img.data.length) };
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) out.data.set(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3), (x * out.width + y) * 3);
  }
  return out;
}

describe('bicubic coefficients (Pillow precompute_coeffs)', () => {
  for (const [inSize, outSize] of [[400, 341], [300, 256], [80, 73], [300, 365], [7, 1], [1, 5], [1000, 3]]) {
    test(`${inSize} → ${outSize}`, () => {
      const c = bicubicCoefficients(inSize, outSize);
      const scale = inSize / outSize;
      expect(c.kernelSize).toBe(Math.ceil(2 * Math.max(scale, 1)) * 2 + 1);
      for (let i = 0; i < outSize; i++) {
        expect(c.first[i]).toBeGreaterThanOrEqual(0);
        expect(c.count[i]).toBeGreaterThan(0);
        expect(c.count[i]).toBeLessThanOrEqual(c.kernelSize);
        expect(c.first[i] + c.count[i]).toBeLessThanOrEqual(inSize);
        // Normalised weights, each rounded to 1/2^22: the sum is 1 up to rounding.
        let sum = 0;
        for (let k = 0; k < c.kernelSize; k++) sum += c.weights[i * c.kernelSize + k];
        expect(Math.abs(sum - (1 << PRECISION_BITS))).toBeLessThanOrEqual(c.count[i]);
      }
    });
  }
});

describe('resizeBicubic', () => {
  test('same size returns an equal copy', () => {
    const img = noiseImage(9, 7);
    const out = resizeBicubic(img, 9, 7);
    expect(out.data).not.toBe(img.data);
    expect(Array.from(out.data)).toEqual(Array.from(img.data));
  });

  test('a flat image stays flat at any scale', () => {
    for (const v of [0, 1, 127, 254, 255]) {
      const img = { width: 37, height: 23, data: new Uint8Array(37 * 23 * 3).fill(v) };
      for (const [w, h] of [[10, 5], [80, 61], [37, 9], [3, 23], [1, 1]]) {
        expect(resizeBicubic(img, w, h).data.every((x) => x === v)).toBe(true);
      }
    }
  });

  test('two-pass resize = horizontal-only, then vertical-only (uint8 in between)', () => {
    // Also shows the vertical pass's row cropping (Pillow's ybox) changes nothing.
    const img = noiseImage(53, 41);
    for (const [w, h] of [[20, 17], [90, 77], [20, 77], [90, 17]]) {
      const direct = resizeBicubic(img, w, h);
      const staged = resizeBicubic(resizeBicubic(img, w, 41), w, h);
      expect(Array.from(direct.data)).toEqual(Array.from(staged.data));
    }
  });

  test('the vertical pass is the horizontal pass on the transposed image', () => {
    const img = noiseImage(31, 44);
    for (const h of [13, 44, 70]) {
      const vertical = resizeBicubic(img, 31, h);
      const viaHorizontal = transpose(resizeBicubic(transpose(img), h, 31));
      expect(Array.from(vertical.data)).toEqual(Array.from(viaHorizontal.data));
    }
  });

  test('overshoot is clamped to 0..255 (negative lobes on hard edges)', () => {
    // A 0/255 step upscaled: bicubic overshoots; the result must saturate, not wrap.
    const w = 8, data = new Uint8Array(w * 3);
    for (let x = 4; x < w; x++) data.fill(255, x * 3, x * 3 + 3);
    const out = resizeBicubic({ width: w, height: 1, data }, 32, 1);
    expect(out.data[0]).toBe(0);
    expect(out.data[out.data.length - 1]).toBe(255);
    const row = Array.from(out.data.filter((_, i) => i % 3 === 0));
    for (let i = 1; i < row.length; i++) expect(row[i]).toBeGreaterThanOrEqual(row[i - 1]);
  });

  test('rejects non-positive or fractional sizes', () => {
    const img = noiseImage(4, 4);
    expect(() => resizeBicubic(img, 0, 4)).toThrow(RangeError);
    expect(() => resizeBicubic(img, 4, 2.5)).toThrow(RangeError);
  });
});
