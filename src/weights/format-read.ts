// Reading vim-webgpu files on the host: the header through a random-access
// source, and a tensor's bytes back to float32 (for the tensors the GPU keeps
// in f32, for re-conversion, and for tests). GPU loading is stream-loader.ts.
import { IntegrityError } from '../errors.js';
import type { StateDict } from '../tensor.js';
import { headerLength, parseVimFileHeader, type VimFileEntry, type VimFileHeader } from './format.js';
import { halfToFloat } from './dtype.js';
import { firstNonFinite, firstNonFiniteHalf, nonFiniteTensor } from './finite.js';
import { digestHex } from './sha256.js';
import type { RandomAccessSource } from './source.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads and validates the header of a vim-webgpu file. */
export async function readVimFileHeader(src: RandomAccessSource): Promise<VimFileHeader> {
  const length = headerLength(await src.read(0, Math.min(8, src.size)), src.name, src.size);
  return parseVimFileHeader(await src.read(0, 8 + length), src.name, src.size);
}

/** True when a safetensors file says it is ours (cheap: reads the header only). */
export async function isVimFile(src: RandomAccessSource): Promise<boolean> {
  try {
    const length = headerLength(await src.read(0, Math.min(8, src.size)), src.name, src.size);
    const text = new TextDecoder().decode(await src.read(8, length));
    const meta = (JSON.parse(text) as { __metadata__?: { format?: unknown } }).__metadata__;
    return meta?.format === 'vim-webgpu';
  } catch {
    return false;
  }
}

/**
 * Float32 values of one entry. `scale` is the bytes of its scale entry (int8 only).
 * The bytes may sit at any offset: they are copied where a view would need alignment.
 */
export function decodeEntry(e: VimFileEntry, bytes: Uint8Array, scale?: Uint8Array): Float32Array {
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength < e.end - e.begin) throw new RangeError(`${e.name}: ${bytes.byteLength} bytes, need ${e.end - e.begin}`);
  if (e.dtype === 'F32') return f32View(bytes, n);
  if (e.dtype === 'F16') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes[2 * i] | (bytes[2 * i + 1] << 8));
    return out;
  }
  if (e.dtype !== 'I8' || !scale) throw new RangeError(`${e.name}: cannot decode ${e.dtype}${e.dtype === 'I8' ? ' without its scales' : ''}`);
  const scales = f32View(scale, e.shape[0]);
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, n);
  const cols = n / e.shape[0];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = q[i] * scales[Math.floor(i / cols)];
  return out;
}

function f32View(bytes: Uint8Array, n: number): Float32Array {
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported');
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  return new Float32Array(bytes.slice(0, 4 * n).buffer);
}

/**
 * NaN or ±Infinity in an F32 or F16 entry (a weight or an int8 scale) is a
 * NumericsError naming it. A valid hash proves only that the file is what was
 * written, not that what was written is usable. Int8 values are always finite.
 */
export function checkEntryFinite(file: string, e: VimFileEntry, bytes: Uint8Array): void {
  if (e.dtype === 'F32') {
    const values = f32View(bytes, (e.end - e.begin) / 4);
    const i = firstNonFinite(values);
    if (i >= 0) throw nonFiniteTensor(file, e.name, values[i], i);
  } else if (e.dtype === 'F16') {
    const n = (e.end - e.begin) / 2;
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice(0, 2 * n);
    const bits = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    const i = firstNonFiniteHalf(bits);
    if (i >= 0) throw nonFiniteTensor(file, e.name, halfToFloat(bits[i]), i);
  }
}

/** Checks an entry's bytes against the header's sha256 (a typed error naming the tensor). */
export async function verifyEntry(file: string, e: VimFileEntry, bytes: Uint8Array): Promise<void> {
  const got = await digestHex(bytes.subarray(0, e.end - e.begin));
  if (got !== e.sha256) throw new IntegrityError(file, `tensor '${e.name}'`, e.sha256, got);
}

/** Every model tensor as float32 (int8 and f16 expanded), each verified against its hash. */
export async function readVimFileStateDict(src: RandomAccessSource, header?: VimFileHeader): Promise<StateDict> {
  const h = header ?? await readVimFileHeader(src);
  const read = async (e: VimFileEntry) => {
    const bytes = await src.read(h.dataStart + e.begin, e.end - e.begin);
    await verifyEntry(src.name, e, bytes);
    checkEntryFinite(src.name, e, bytes);
    return bytes;
  };
  const out: StateDict = new Map();
  for (const [name, e] of h.weights) {
    const scale = h.scales.get(name);
    out.set(name, { shape: e.shape, data: decodeEntry(e, await read(e), scale && await read(scale)) });
  }
  return out;
}
