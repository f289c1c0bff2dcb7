// Format-blind mutations shared by every fuzz target, plus "interesting" values
// for lying size / offset / count fields: the boundaries where length
// arithmetic tends to break (0, 1, max, max ± 1, 2^31, 2^32, 2^53, file size ± 1).
import type { Rng } from './rng.js';

/** Values a lying 32-bit field may take, given the file size as a reference point. */
export function lie32(rng: Rng, size: number, current = 0): number {
  return rng.pick([
    0, 1, 2, 3, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
    size, size - 1, size + 1, Math.max(0, current - 1), current + 1, current * 2, current + 0x40000000,
    rng.u32(),
  ].map((v) => v >>> 0));
}

/** Values a lying 64-bit field may take (as bigint). */
export function lie64(rng: Rng, size: number, current = 0n): bigint {
  return rng.pick([
    0n, 1n, 8n, BigInt(size), BigInt(size) - 1n, BigInt(size) + 1n, current + 1n, current > 0n ? current - 1n : 0n,
    0xffffffffn, 0x100000000n, 1n << 40n, (1n << 53n) - 1n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n,
    (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()),
  ]);
}

/** A count a lying header may claim: small, huge, unsafe, negative, fractional. */
export function lieCount(rng: Rng): number {
  return rng.pick([0, 1, 2, 3, 16, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 2 ** 60, -1, 1.5, 1e308]);
}

export function flipBits(rng: Rng, src: Uint8Array, flips: number, from = 0, to = src.length): Uint8Array {
  const out = src.slice();
  if (to <= from) return out;
  for (let i = 0; i < flips; i++) out[rng.range(from, to - 1)] ^= 1 << rng.int(8);
  return out;
}

/** Overwrites 1-4 bytes with 0x00 / 0xff / 0x7f / 0x80 / random. */
export function smashBytes(rng: Rng, src: Uint8Array, count: number): Uint8Array {
  const out = src.slice();
  if (out.length === 0) return out;
  for (let i = 0; i < count; i++) {
    const at = rng.int(out.length), n = Math.min(rng.range(1, 4), out.length - at);
    const v = rng.pick([0x00, 0xff, 0x7f, 0x80, -1]);
    for (let k = 0; k < n; k++) out[at + k] = v < 0 ? rng.u32() & 0xff : v;
  }
  return out;
}

export function truncate(src: Uint8Array, at: number): Uint8Array {
  return src.slice(0, Math.max(0, Math.min(src.length, at)));
}

/** Deletes, duplicates or inserts a random run of bytes. */
export function splice(rng: Rng, src: Uint8Array): Uint8Array {
  const at = rng.int(src.length + 1), n = rng.range(1, 64);
  const op = rng.int(3);
  if (op === 0) return concat(src.subarray(0, at), src.subarray(Math.min(src.length, at + n)));
  if (op === 1) return concat(src.subarray(0, at), src.subarray(at, at + n), src.subarray(at));
  return concat(src.subarray(0, at), rng.bytes(n), src.subarray(at));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

/** concat for many parts (a spread of thousands of arguments would overflow the stack). */
export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Random bytes, sometimes behind a format's magic so the parser gets past its first check. */
export function randomFile(rng: Rng, magic: Uint8Array, maxLength = 4096): Uint8Array {
  const body = rng.bytes(rng.int(maxLength + 1));
  return rng.chance(0.5) ? concat(magic, body) : body;
}

/** A truncation point near one of the given structural boundaries (±2 bytes). */
export function boundaryCut(rng: Rng, boundaries: readonly number[], length: number): number {
  const b = boundaries.length ? rng.pick(boundaries) : rng.int(length);
  return Math.max(0, Math.min(length - 1, b + rng.range(-2, 2)));
}

export function setU32(src: Uint8Array, at: number, value: number, little = true): Uint8Array {
  const out = src.slice();
  if (at >= 0 && at + 4 <= out.length) new DataView(out.buffer).setUint32(at, value >>> 0, little);
  return out;
}

export function setU16(src: Uint8Array, at: number, value: number, little = true): Uint8Array {
  const out = src.slice();
  if (at >= 0 && at + 2 <= out.length) new DataView(out.buffer).setUint16(at, value & 0xffff, little);
  return out;
}

export function setU64(src: Uint8Array, at: number, value: bigint): Uint8Array {
  const out = src.slice();
  if (at >= 0 && at + 8 <= out.length) new DataView(out.buffer).setBigUint64(at, BigInt.asUintN(64, value), true);
  return out;
}
