// The host side of GPU preprocessing: where every output pixel of the official
// eval transform (docs/preprocessing.md) comes from, as data the shader can use.
//
// Three coordinate frames, linked by 2-D affine maps (gl-matrix mat2d):
//   stored   — pixels as decoded (EXIF orientation not applied);
//   oriented — the upright image (W × H), what PIL would see after exif_transpose;
//   resized  — the image after Resize(int(s / 0.875)) (W' × H');
//   output   — the s × s center crop.
// Orientation (oriented → stored) and crop (output → resized) are exact pixel
// maps, passed to the shader as uniforms. The resize is not a point map:
// Pillow's antialiased bicubic gives each output pixel a run of input pixels
// with fixed-point weights, so that step travels as coefficient tables built
// here with the very code the CPU transform uses (bit-identical weights).
import { mat2d, vec2 } from 'gl-matrix';
import type { ExifOrientation } from '../image/exif.js';
import { bicubicCoefficients, PRECISION_BITS } from '../image/resize.js';
import { normalize, resizeTarget, roundHalfEven, shorterSideSize } from '../image/preprocess.js';

export interface PreprocessGeometry {
  /** Output side s. */
  size: number;
  /** Stored image size. */
  stored: [width: number, height: number];
  /** Upright image size (stored, with axes swapped for orientations 5..8). */
  oriented: [width: number, height: number];
  /** Size after the shorter-side resize. */
  resized: [width: number, height: number];
  /** Center-crop offsets in the resized image (half-to-even, like Python's round). */
  crop: [left: number, top: number];
  /** Pixel index map: oriented (x, y) → stored (x, y). Integer entries. */
  orientPixels: mat2d;
  /** Pixel index map: output (x, y) → resized (x, y). A translation. */
  cropPixels: mat2d;
  /**
   * Continuous map from output coordinates to stored-image coordinates (pixel i
   * spans [i, i + 1)): where the model's view lies in the original picture,
   * e.g. to draw the crop box over it.
   */
  outputToStored: mat2d;
}

/**
 * The continuous orientation map (oriented → stored) of an EXIF orientation,
 * composed from a transpose and flips, as PIL's exif_transpose undoes them:
 * 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° cw, 7 transverse, 8 rotate 90° ccw.
 */
export function orientationMatrix(orientation: ExifOrientation, storedW: number, storedH: number): mat2d {
  const transpose = orientation >= 5;
  const flipX = orientation === 2 || orientation === 3 || orientation === 7 || orientation === 8;
  const flipY = orientation === 3 || orientation === 4 || orientation === 6 || orientation === 7;
  const m = mat2d.create();
  // Applied right to left to an oriented point: transpose first, then the flips in stored space.
  if (flipX) mat2d.multiply(m, m, mat2d.fromValues(-1, 0, 0, 1, storedW, 0));
  if (flipY) mat2d.multiply(m, m, mat2d.fromValues(1, 0, 0, -1, 0, storedH));
  if (transpose) mat2d.multiply(m, m, mat2d.fromValues(0, 1, 1, 0, 0, 0));
  return m;
}

/**
 * A continuous map turned into a map between pixel indices: index i has its
 * center at i + 0.5, so conjugate with half-pixel shifts.
 */
function pixelIndexMap(continuous: mat2d): mat2d {
  const out = mat2d.fromTranslation(mat2d.create(), [-0.5, -0.5]);
  mat2d.multiply(out, out, continuous);
  return mat2d.translate(out, out, [0.5, 0.5]);
}

export function preprocessGeometry(storedW: number, storedH: number, orientation: ExifOrientation, size: number): PreprocessGeometry {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`input size must be a positive integer, got ${size}`);
  const swap = orientation >= 5;
  const [W, H] = swap ? [storedH, storedW] : [storedW, storedH];
  const [rw, rh] = shorterSideSize(W, H, resizeTarget(size));
  // The resized shorter side is int(s / 0.875) ≥ s, so the crop never pads.
  const left = roundHalfEven((rw - size) / 2), top = roundHalfEven((rh - size) / 2);
  const orient = orientationMatrix(orientation, storedW, storedH);
  const crop = mat2d.fromTranslation(mat2d.create(), [left, top]);
  // resized → oriented: Pillow samples at (i + 0.5) · in/out, a pure scale in continuous coordinates.
  const scale = mat2d.fromScaling(mat2d.create(), [W / rw, H / rh]);
  const outputToStored = mat2d.multiply(mat2d.create(), orient, mat2d.multiply(mat2d.create(), scale, crop));
  return {
    size, stored: [storedW, storedH], oriented: [W, H], resized: [rw, rh], crop: [left, top],
    orientPixels: pixelIndexMap(orient), cropPixels: crop, outputToStored,
  };
}

/** Where an output point (x, y) in [0, s]² lies in the stored image. */
export function outputPointToStored(g: PreprocessGeometry, x: number, y: number): [number, number] {
  const p = vec2.transformMat2d(vec2.create(), [x, y], g.outputToStored);
  return [p[0], p[1]];
}

/**
 * Pillow's fixed-point taps for one axis, one row per output index of the
 * resized image: [first input index, tap count, weight_0 … weight_{k−1}]
 * (row stride k + 2). An axis whose size does not change gets the identity
 * (one tap of weight 1.0), which is what skipping the pass gives.
 */
export interface AxisTable {
  stride: number;
  data: Int32Array;
}

export function axisTable(inSize: number, outSize: number): AxisTable {
  if (inSize === outSize) {
    const data = new Int32Array(outSize * 3);
    for (let i = 0; i < outSize; i++) data.set([i, 1, 1 << PRECISION_BITS], i * 3);
    return { stride: 3, data };
  }
  const c = bicubicCoefficients(inSize, outSize);
  const stride = c.kernelSize + 2;
  const data = new Int32Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    data[i * stride] = c.first[i];
    data[i * stride + 1] = c.count[i];
    data.set(c.weights.subarray(i * c.kernelSize, i * c.kernelSize + c.count[i]), i * stride + 2);
  }
  return { stride, data };
}

/** Upright rows [first, end) the vertical pass reads for crop rows top … top + s − 1. */
export function rowsRead(vertical: AxisTable, top: number, size: number): { first: number; rows: number } {
  const first = vertical.data[top * vertical.stride];
  const last = (top + size - 1) * vertical.stride;
  return { first, rows: vertical.data[last] + vertical.data[last + 1] - first };
}

/**
 * ToTensor + Normalize as a lookup table (3 × 256 float32, channel-major): the
 * exact float32 values the CPU transform produces for each byte, so the shader
 * needs no division (WGSL's f32 division is not correctly rounded).
 */
export function normalizeTable(): Float32Array {
  const data = new Uint8Array(256 * 3);
  for (let v = 0; v < 256; v++) data.fill(v, v * 3, v * 3 + 3);
  return normalize({ width: 256, height: 1, data });
}
