// Where a tensor lives inside a weight file, known before any of its data is
// read; streaming loaders fetch exactly these byte ranges.
import type { DType } from './dtype.js';

export interface TensorInfo {
  /** State-dict key, e.g. 'layers.0.mixer.in_proj.weight'. */
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute file offset of the tensor's first element. */
  byteOffset: number;
  /** Bytes from the first to just past the last element (numel × item size when contiguous). */
  byteLength: number;
  /** Row-major and dense; otherwise the bytes in range interleave with other data. */
  contiguous: boolean;
}

/** Row-major strides of a dense tensor of this shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { out[i] = s; s *= shape[i]; }
  return out;
}

/** Index of the last element relative to the first, in elements (-1 for an empty tensor). */
export function lastElement(shape: readonly number[], stride: readonly number[]): number {
  if (shape.some((d) => d === 0)) return -1;
  return shape.reduce((acc, d, i) => acc + (d - 1) * stride[i], 0);
}

/** PyTorch's notion: strides of size-1 dimensions do not matter. */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  const dense = contiguousStrides(shape);
  return shape.some((d) => d === 0) || shape.every((d, i) => d === 1 || stride[i] === dense[i]);
}

/** Copies a strided view (offsets relative to `src[0]`) into a dense row-major array. */
export function gatherStrided(src: Float32Array, shape: readonly number[], stride: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const index = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let i = 0; i < n; i++) {
    out[i] = src[at];
    // Odometer increment of the multi-index, keeping `at` in step.
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) { at += stride[d]; break; }
      at -= (shape[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}
