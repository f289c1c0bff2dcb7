// Weight quantization: which tensors are stored in a smaller type, and the
// encodings themselves. Compute stays f32 everywhere (docs/design.md §8); only storage
// and the bytes on the wire shrink.
//
// int8 is symmetric, per output channel: row r of a (rows, cols) matrix is
// stored as q = round(w / s_r) ∈ [−127, 127] with s_r = max|w_r| / 127, so
// w ≈ q·s_r. −128 is never produced (the range stays symmetric), and a zero row
// gets s_r = 0 (q = 0, exact). Per-row scales fold into the matmul's epilogue:
// Σ_k x_k·(q_nk·s_n) = s_n·Σ_k x_k·q_nk.
//
// f16 is IEEE binary16 rounded to nearest even; a safetensors F16 tensor read as
// u32 words holds two consecutive elements per word (low half first), which is
// what WGSL's unpack2x16float expects, so no repacking is needed.
import { floatToHalf, halfToFloat } from './dtype.js';
import type { WeightDType } from './weight-dtype.js';

/**
 * Storage of the big matrices when a .pth or safetensors checkpoint is converted
 * on load, on every engine: f32, exact, until int8 is the stated default
 * (the quantized kernels' accuracy is measured in test/quant-accuracy*.test.ts).
 */
export const DEFAULT_DTYPE: WeightDType = 'f32';



/**
 * The Linear weights: 94% of Vim-Ti's parameters, and the only tensors the
 * matmul kernel reads in f16/int8 directly. patch_embed.proj.weight (2%) is
 * also reduced in the file and expanded to f32 on upload (its kernel reads f32).
 * Everything else stays f32: A_log and dt biases go through exp/softplus, where
 * a relative error grows; D, norms, conv taps, cls/pos are small and sensitive.
 * The choice is measured: see test/quant-accuracy*.test.ts and weights/FORMAT.md.
 */
const MATRIX_KEYS = new Set([
  'mixer.in_proj.weight', 'mixer.x_proj.weight', 'mixer.x_proj_b.weight',
  'mixer.dt_proj.weight', 'mixer.dt_proj_b.weight', 'mixer.out_proj.weight',
]);

export interface QuantPolicy {
  /** Storage for a tensor of this name and shape under a target dtype. */
  storageFor(name: string, shape: readonly number[], target: WeightDType): WeightDType;
}

/** Tensors that a reduced target may store in f16 / int8. */
export function isReducibleTensor(name: string): boolean {
  if (name === 'head.weight' || name === 'patch_embed.proj.weight') return true;
  return MATRIX_KEYS.has(name.replace(/^layers\.\d+\./, ''));
}

/**
 * The default policy. A tensor is reduced only if its byte size stays a
 * multiple of 4, so the two halves of a stacked direction pair start on a
 * 4-byte boundary in their GPU buffer (queue.writeBuffer requires it).
 */
export const DEFAULT_POLICY: QuantPolicy = {
  storageFor(name, shape, target) {
    if (target === 'f32' || !isReducibleTensor(name) || shape.length < 2) return 'f32';
    const n = shape.reduce((a, b) => a * b, 1);
    if (target === 'f16') return n % 2 === 0 ? 'f16' : 'f32';
    return n % 4 === 0 ? 'int8' : 'f32';
  },
};

/** A policy that keeps some reducible tensors in f32 (for measuring what is safe to reduce). */
export function policyExcept(keep: (name: string) => boolean): QuantPolicy {
  return { storageFor: (name, shape, target) => keep(name) ? 'f32' : DEFAULT_POLICY.storageFor(name, shape, target) };
}

export interface Int8Matrix {
  /** rows × cols, row-major */
  q: Int8Array;
  /** one per row */
  scales: Float32Array;
}

/** Symmetric per-row int8 of a (rows, cols) matrix (any trailing dims count as cols). */
export function quantizeInt8(data: Float32Array, rows: number): Int8Matrix {
  if (rows <= 0 || data.length % rows !== 0) throw new RangeError(`cannot split ${data.length} values into ${rows} rows`);
  const cols = data.length / rows;
  const q = new Int8Array(data.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * cols, (r + 1) * cols);
    let max = 0;
    for (let i = 0; i < cols; i++) {
      const a = Math.abs(row[i]);
      if (a > max) max = a;
    }
    if (!Number.isFinite(max)) throw new RangeError(`row ${r} holds a non-finite value; cannot quantize`);
    // The stored f32 scale is what the kernel multiplies by, so round with it.
    const s = Math.fround(max / 127);
    scales[r] = s;
    if (s === 0) continue;
    for (let i = 0; i < cols; i++) q[r * cols + i] = Math.max(-127, Math.min(127, Math.round(row[i] / s)));
  }
  return { q, scales };
}

export function dequantizeInt8(q: Int8Array, scales: Float32Array): Float32Array {
  const cols = q.length / scales.length;
  const out = new Float32Array(q.length);
  for (let r = 0; r < scales.length; r++) {
    const s = scales[r];
    for (let i = r * cols; i < (r + 1) * cols; i++) out[i] = Math.fround(q[i] * s);
  }
  return out;
}

export function encodeF16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]);
  return out;
}

export function decodeF16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]);
  return out;
}

/** The f32 values a tensor will have after a round trip through this storage. */
export function roundTrip(data: Float32Array, shape: readonly number[], storage: WeightDType): Float32Array {
  if (storage === 'f32') return data;
  if (storage === 'f16') return decodeF16(encodeF16(data));
  const { q, scales } = quantizeInt8(data, shape[0]);
  return dequantizeInt8(q, scales);
}
