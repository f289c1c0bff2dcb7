// Bit-exact port of Pillow's ImagingResample (libImaging/Resample.c) for
// 8-bit RGB and the BICUBIC filter, which is what torchvision's Resize does
// to a PIL image in the official eval transform.
//
// Everything that can change a single output byte follows Pillow:
//  * weights are computed in float64 with Pillow's exact operation order,
//    normalised per output pixel, then turned into 22-fraction-bit integers
//    with Pillow's round-half-away-from-zero rule;
//  * accumulation is integer, starting at 0.5 (1 << 21), and each pass ends
//    in clip8 (shift, clamp to 0..255) — so the intermediate image is uint8;
//  * horizontal pass first, then vertical; a pass whose size does not change
//    is skipped (an identity pass would be exact anyway, but skipping is what
//    Pillow does and it keeps the cost honest).
import { createRgbImage, type RgbImage } from './rgb-image.js';

/** Pillow: 32 bits − 8 for the pixel − 2 of headroom for negative lobes. */
export const PRECISION_BITS = 32 - 8 - 2;
/** Bicubic support radius in input pixels at scale 1 (Pillow's BICUBIC.support). */
const BICUBIC_SUPPORT = 2.0;

/** Pillow's bicubic_filter with a = −0.5 (Keys), same operation order. */
function bicubicFilter(x: number): number {
  const a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

/**
 * Per output pixel: the first input index, how many inputs it reads, and
 * their fixed-point weights (row `i` of `weights` starts at i · kernelSize).
 */
export interface ResampleCoefficients {
  kernelSize: number;
  first: Int32Array;
  count: Int32Array;
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize). */
export function bicubicCoefficients(inSize: number, outSize: number): ResampleCoefficients {
  const scale = inSize / outSize;
  // Downscaling widens the kernel by the scale factor: that is the antialiasing.
  const filterScale = scale < 1.0 ? 1.0 : scale;
  const support = BICUBIC_SUPPORT * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * kernelSize);
  const invFilterScale = 1.0 / filterScale;
  const taps = new Float64Array(kernelSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C casts with (int), i.e. truncation toward zero; negatives clamp to 0 anyway.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let sum = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubicFilter((x + xmin - center + 0.5) * invFilterScale);
      taps[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0.0 ? taps[x] / sum : taps[x];
      // normalize_coeffs_8bpc: (int)(±0.5 + w · 2^22), truncating toward zero.
      weights[xx * kernelSize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { kernelSize, first, count, weights };
}

/** Pillow's clip8: drop the fraction bits of a fixed-point sum, clamp to a byte. */
function clip8(acc: number): number {
  if (acc >= 1 << (PRECISION_BITS + 8)) return 255;
  if (acc <= 0) return 0;
  return acc >> PRECISION_BITS;
}

/** Rounding offset every accumulator starts from (0.5 in fixed point). */
const HALF = 1 << (PRECISION_BITS - 1);

/** Horizontal pass over input rows [rowFirst, rowFirst + rows). */
function resampleHorizontal(src: RgbImage, rowFirst: number, rows: number, c: ResampleCoefficients, outW: number): RgbImage {
  const out = createRgbImage(outW, rows);
  const { kernelSize, first, count, weights } = c;
  const s = src.data, d = out.data;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowFirst) * src.width * 3;
    for (let xx = 0; xx < outW; xx++) {
      const k0 = xx * kernelSize, n = count[xx];
      let p = rowBase + first[xx] * 3;
      let r = HALF, g = HALF, b = HALF;
      for (let x = 0; x < n; x++, p += 3) {
        const w = weights[k0 + x];
        r += s[p] * w;
        g += s[p + 1] * w;
        b += s[p + 2] * w;
      }
      const o = (y * outW + xx) * 3;
      d[o] = clip8(r);
      d[o + 1] = clip8(g);
      d[o + 2] = clip8(b);
    }
  }
  return out;
}

/** Vertical pass; `rowShift` re-bases the row bounds onto a cropped input. */
function resampleVertical(src: RgbImage, c: ResampleCoefficients, outH: number, rowShift: number): RgbImage {
  const w = src.width;
  const out = createRgbImage(w, outH);
  const { kernelSize, first, count, weights } = c;
  const s = src.data, d = out.data;
  const stride = w * 3;
  for (let yy = 0; yy < outH; yy++) {
    const k0 = yy * kernelSize, n = count[yy];
    const base = (first[yy] - rowShift) * stride;
    for (let x = 0; x < w; x++) {
      let p = base + x * 3;
      let r = HALF, g = HALF, b = HALF;
      for (let y = 0; y < n; y++, p += stride) {
        const wt = weights[k0 + y];
        r += s[p] * wt;
        g += s[p + 1] * wt;
        b += s[p + 2] * wt;
      }
      const o = (yy * w + x) * 3;
      d[o] = clip8(r);
      d[o + 1] = clip8(g);
      d[o + 2] = clip8(b);
    }
  }
  return out;
}

/**
 * `Image.resize((newW, newH), Image.BICUBIC)` on an RGB image, bit for bit.
 * Returns a copy when the size is unchanged (Pillow does the same).
 */
export function resizeBicubic(img: RgbImage, newW: number, newH: number): RgbImage {
  if (!Number.isInteger(newW) || !Number.isInteger(newH) || newW < 1 || newH < 1) {
    throw new RangeError(`resize target must be positive integers, got ${newW}x${newH}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`image data holds ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
  }
  const needHorizontal = newW !== img.width;
  const needVertical = newH !== img.height;
  const vert = bicubicCoefficients(img.height, newH);

  let current = img;
  let rowShift = 0;
  if (needHorizontal) {
    const horiz = bicubicCoefficients(img.width, newW);
    // Only the input rows the vertical kernel touches are resampled
    // horizontally (Pillow's ybox_first/ybox_last); when the height is
    // unchanged that is every row.
    let rowFirst = 0, rowEnd = img.height;
    if (needVertical) {
      rowFirst = vert.first[0];
      rowEnd = vert.first[newH - 1] + vert.count[newH - 1];
    }
    current = resampleHorizontal(img, rowFirst, rowEnd - rowFirst, horiz, newW);
    rowShift = rowFirst;
  }
  if (needVertical) current = resampleVertical(current, vert, newH, rowShift);
  if (current === img) current = { width: img.width, height: img.height, data: img.data.slice() };
  return current;
}
