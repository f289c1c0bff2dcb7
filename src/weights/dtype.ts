// Element types found in weight files, and their conversion to float32, the one
// type the engine keeps on the host. Half and bfloat16 are decoded bit by bit
// (no Float16Array, which older browsers and Node 20 lack).
import { UnsupportedDtypeError } from '../errors.js';

/** Our names; safetensors spells them F32, F16, BF16, ... and torch FloatStorage, HalfStorage, ... */
export type DType = 'f64' | 'f32' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool';

export const ITEM_SIZE: Record<DType, number> = {
  f64: 8, f32: 4, f16: 2, bf16: 2, i64: 8, i32: 4, i16: 2, i8: 1, u8: 1, bool: 1,
};

/** The dtypes the host can turn into float32 weights. */
export function isFloatDType(d: DType): d is 'f64' | 'f32' | 'f16' | 'bf16' {
  return d === 'f64' || d === 'f32' || d === 'f16' || d === 'bf16';
}

// Every JS engine we target is little-endian; checked once so a big-endian host
// fails loudly instead of producing garbage.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `count` little-endian elements starting at `bytes[0]` into a new Float32Array.
 * Throws UnsupportedDtypeError for non-float types.
 */
export function toFloat32(bytes: Uint8Array, dtype: DType, count: number, file: string, tensor: string): Float32Array {
  if (!isFloatDType(dtype)) throw new UnsupportedDtypeError(file, tensor, dtype);
  if (bytes.byteLength < count * ITEM_SIZE[dtype]) throw new RangeError(`${tensor}: ${bytes.byteLength} bytes for ${count} ${dtype}`);
  const out = new Float32Array(count);
  if (dtype === 'f32' && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'f32') for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
  else if (dtype === 'f64') for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
  else if (dtype === 'f16') for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
  else for (let i = 0; i < count; i++) out[i] = bf16ToFloat(dv.getUint16(2 * i, true));
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 is the top half of a float32. */
export function bf16ToFloat(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}

/** IEEE binary16 → number (exact). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f, frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;                    // zero and subnormals
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** number → IEEE binary16 bits, rounding to nearest even (as numpy and torch do). */
export function floatToHalf(value: number): number {
  f32[0] = value;                                                    // round to float32 first, like a cast from f32
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);     // inf / NaN (quiet)
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;                                 // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign;                                        // underflows to ±0
    mant |= 0x800000;                                                // make the leading 1 explicit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;                                                 // a carry into the exponent is still right
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) { m = 0; e++; if (e >= 31) return sign | 0x7c00; }
  }
  return sign | (e << 10) | m;
}

/** number → bfloat16 bits, rounding to nearest even; NaN stays NaN. */
export function floatToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
