// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}},
// then the data area the offsets point into. The header is untrusted: every
// entry is checked before a single data byte is read.
import { UnsupportedDtypeError, WeightFormatError } from '../errors.js';
import type { StateDict } from '../tensor.js';
import { ITEM_SIZE, floatToBf16, floatToHalf, toFloat32, type DType } from './dtype.js';
import type { RandomAccessSource } from './source.js';
import type { TensorInfo } from './tensor-info.js';

/** The reference implementation's header limit. */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPES: Record<string, DType> = {
  F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16', I64: 'i64', I32: 'i32', I16: 'i16', I8: 'i8', U8: 'u8', BOOL: 'bool',
};

export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata: Record<string, string>;
  /** Absolute offset of the data area (8 + header length). */
  dataStart: number;
}

export async function readSafetensorsHeader(src: RandomAccessSource): Promise<SafetensorsHeader> {
  const fail = (detail: string): never => { throw new WeightFormatError(src.name, `safetensors: ${detail}`); };
  if (src.size < 8) fail(`file is ${src.size} bytes, too short for a header`);
  const length = new DataView((await src.read(0, 8)).buffer).getBigUint64(0, true);
  if (length < 2n || length > BigInt(Math.min(MAX_HEADER_BYTES, src.size - 8))) {
    fail(`header length ${length} is impossible for a ${src.size}-byte file (limit ${MAX_HEADER_BYTES})`);
  }
  const dataStart = 8 + Number(length);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, Number(length))));
  } catch (e) {
    if (e instanceof WeightFormatError) throw e;
    return fail('header is not valid UTF-8 JSON');
  }
  if (!isRecord(json)) return fail('header is not a JSON object');
  const dataSize = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Array<TensorInfo & { begin: number; end: number }> = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__['${k}'] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    tensors.push(parseEntry(src.name, name, value, dataStart, dataSize, fail));
  }
  // Offsets must not overlap: two tensors may never claim the same bytes.
  const byStart = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byStart.length; i++) {
    if (byStart[i].begin < byStart[i - 1].end) fail(`tensors '${byStart[i - 1].name}' and '${byStart[i].name}' overlap`);
  }
  return { tensors: tensors.map(({ begin: _b, end: _e, ...t }) => t), metadata, dataStart };
}

function parseEntry(file: string, name: string, value: unknown, dataStart: number, dataSize: number,
  fail: (d: string) => never): TensorInfo & { begin: number; end: number } {
  if (name === '') fail('a tensor has an empty name');
  if (!isRecord(value)) return fail(`entry '${name}' is not an object`);
  const extra = Object.keys(value).find((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
  if (extra) fail(`entry '${name}' has an unknown field '${extra}'`);
  const { dtype: dtypeName, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtypeName !== 'string') return fail(`entry '${name}' has no dtype`);
  const dtype = DTYPES[dtypeName];
  if (!dtype) throw new UnsupportedDtypeError(file, name, dtypeName);
  const isCount = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
  if (!Array.isArray(shape) || shape.length > 16 || !shape.every(isCount)) return fail(`entry '${name}' has an invalid shape`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return fail(`entry '${name}' has invalid data_offsets`);
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataSize) {
    fail(`entry '${name}' data_offsets [${begin}, ${end}] lie outside the ${dataSize}-byte data area`);
  }
  const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
  if (bytes !== end - begin) fail(`entry '${name}' shape [${shape.join(', ')}] × ${dtypeName} needs ${bytes} bytes, data_offsets span ${end - begin}`);
  return { name, dtype, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin, contiguous: true, begin, end };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads every tensor (float types only) as float32, one range at a time. */
export async function readSafetensors(src: RandomAccessSource, header?: SafetensorsHeader): Promise<StateDict> {
  const { tensors } = header ?? await readSafetensorsHeader(src);
  const out: StateDict = new Map();
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    out.set(t.name, { shape: t.shape, data: toFloat32(await src.read(t.byteOffset, t.byteLength), t.dtype, n, src.name, t.name) });
  }
  return out;
}

export interface SafetensorsEntry {
  name: string;
  /** Storage type in the file; float32 data is rounded to nearest even for F16 / BF16. */
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  data: Float32Array;
}

/**
 * Serializes tensors in the given order, packed back to back as the format requires;
 * the header is padded with spaces so the data area starts 8-byte aligned.
 */
export function writeSafetensors(tensors: StateDict | Iterable<SafetensorsEntry>, metadata?: Record<string, string>): Uint8Array {
  const entries: SafetensorsEntry[] = tensors instanceof Map
    ? [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }))
    : [...tensors];
  // No prototype, so a tensor named '__proto__' is just a key.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const e of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (n !== e.data.length) throw new RangeError(`${e.name}: shape [${e.shape.join(', ')}] has ${n} elements, data has ${e.data.length}`);
    if (e.name === '__metadata__' || e.name in header) throw new RangeError(`tensor name '${e.name}' is reserved or repeated`);
    const bytes = n * ITEM_SIZE[DTYPES[e.dtype]];
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const e of entries) {
    if (e.dtype === 'F32') {
      for (let i = 0; i < e.data.length; i++, at += 4) dv.setFloat32(at, e.data[i], true);
    } else {
      const encode = e.dtype === 'F16' ? floatToHalf : floatToBf16;
      for (let i = 0; i < e.data.length; i++, at += 2) dv.setUint16(at, encode(e.data[i]), true);
    }
  }
  return out;
}
