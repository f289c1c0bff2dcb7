// Applies an EXIF orientation to decoded pixels, with the same geometry as
// PIL's ImageOps.exif_transpose. The official transform does NOT do this
// (PIL leaves pixels as stored), so it is a separate step the API layer opts
// into; keep it out of anything that must match the reference tensors.
import { createRgbImage, type RgbImage } from './rgb-image.js';
import type { ExifOrientation } from './exif.js';

/**
 * Source pixel of output pixel (x, y) for each orientation, as an affine map
 * sx = x0 + xx·x + xy·y, sy = y0 + yx·x + yy·y of the source size (w, h).
 * PIL's method per value: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM,
 * 5 TRANSPOSE, 6 ROTATE_270 (90° clockwise), 7 TRANSVERSE, 8 ROTATE_90
 * (90° counter-clockwise).
 */
type SourceMap = (w: number, h: number) => { x0: number; xx: number; xy: number; y0: number; yx: number; yy: number };
const SOURCE: Record<ExifOrientation, SourceMap> = {
  1: () => ({ x0: 0, xx: 1, xy: 0, y0: 0, yx: 0, yy: 1 }),
  2: (w) => ({ x0: w - 1, xx: -1, xy: 0, y0: 0, yx: 0, yy: 1 }),
  3: (w, h) => ({ x0: w - 1, xx: -1, xy: 0, y0: h - 1, yx: 0, yy: -1 }),
  4: (_w, h) => ({ x0: 0, xx: 1, xy: 0, y0: h - 1, yx: 0, yy: -1 }),
  5: () => ({ x0: 0, xx: 0, xy: 1, y0: 0, yx: 1, yy: 0 }),
  6: (_w, h) => ({ x0: 0, xx: 0, xy: 1, y0: h - 1, yx: -1, yy: 0 }),
  7: (w, h) => ({ x0: w - 1, xx: 0, xy: -1, y0: h - 1, yx: -1, yy: 0 }),
  8: (w) => ({ x0: w - 1, xx: 0, xy: -1, y0: 0, yx: 1, yy: 0 }),
};

/** True for the orientations that swap width and height. */
export function swapsAxes(o: ExifOrientation): boolean {
  return o >= 5;
}

/** A new image with the orientation applied (a copy for orientation 1). */
export function applyOrientation(img: RgbImage, orientation: ExifOrientation): RgbImage {
  const map = SOURCE[orientation];
  if (!map) throw new RangeError(`EXIF orientation must be 1..8, got ${orientation}`);
  const { width: w, height: h } = img;
  const out = swapsAxes(orientation) ? createRgbImage(h, w) : createRgbImage(w, h);
  const m = map(w, h);
  // +1 output column moves the source by (xx, yx) pixels: a fixed byte step.
  const stepX = (m.yx * w + m.xx) * 3;
  const src = img.data, dst = out.data;
  let o = 0;
  for (let y = 0; y < out.height; y++) {
    let s = ((m.y0 + m.yy * y) * w + (m.x0 + m.xy * y)) * 3; // source of (0, y)
    for (let x = 0; x < out.width; x++, o += 3, s += stepX) {
      dst[o] = src[s];
      dst[o + 1] = src[s + 1];
      dst[o + 2] = src[s + 2];
    }
  }
  return out;
}
