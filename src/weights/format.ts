// The vim-webgpu weight format ("vim files" in code: VimFileHeader, uploadVimFile), v1: a valid safetensors file (any
// safetensors reader lists and loads it) whose __metadata__ says how to use it.
// weights/FORMAT.md is the prose specification; this module is the executable
// one: the names, and the validation every header passes before a single GPU
// buffer is created. The header is untrusted input: nothing in it is believed
// until it has been checked against the rest of it and against the model.
import { ModelShapeError, WeightFormatError } from '../errors.js';
import { deriveConfig, type VimConfig } from '../model/config.js';
import { shapeString } from '../tensor.js';
import { WEIGHT_DTYPES, type WeightDType } from './weight-dtype.js';


export const FORMAT_NAME = 'vim-webgpu';
export const FORMAT_VERSION = 1;
/** Every tensor starts at a multiple of this many bytes from the file's start. */
export const ALIGNMENT = 16;
/** Filler entries that keep the next tensor aligned (safetensors forbids gaps). */
export const PAD_PREFIX = '__pad__.';
export const SCALE_SUFFIX = '.scale';
/** A v1 header for Vim-S is about 130 kB; anything near this is hostile. */
export const MAX_HEADER_BYTES = 8 << 20;
/** Twice the largest released model in f32; larger claims are rejected before allocation. */
export const MAX_DATA_BYTES = 1 << 30;

export type FileDType = 'F32' | 'F16' | 'I8' | 'U8';
export const FILE_DTYPE: Record<WeightDType, FileDType> = { f32: 'F32', f16: 'F16', int8: 'I8' };
/** A reduced tensor's "storage" in the file's quantization table (FORMAT.md): the file's own tokens, kept as written. */
export const FILE_STORAGE: Record<Exclude<WeightDType, 'f32'>, string> = { f16: 'f16', int8: 'i8' };
export const FILE_ITEM_SIZE: Record<FileDType, number> = { F32: 4, F16: 2, I8: 1, U8: 1 };

export interface VimFileEntry {
  name: string;
  dtype: FileDType;
  shape: number[];
  /** Byte range relative to the data section (safetensors data_offsets). */
  begin: number;
  end: number;
  sha256: string;
  kind: 'weight' | 'scale' | 'pad';
}

export interface VimFileHeader {
  file: string;
  /** 8 + JSON length: where the data section starts. */
  dataStart: number;
  dataBytes: number;
  fileBytes: number;
  config: VimConfig;
  target: WeightDType;
  /** Every entry, in data order (contiguous, non-overlapping). */
  entries: VimFileEntry[];
  /** The model's tensors by official name (their file dtype is their storage). */
  weights: Map<string, VimFileEntry>;
  /** weight name → its per-row scale entry (int8 weights only). */
  scales: Map<string, VimFileEntry>;
  metadata: Record<string, string>;
}

export function storageOf(e: VimFileEntry): WeightDType {
  return e.dtype === 'F16' ? 'f16' : e.dtype === 'I8' ? 'int8' : 'f32';
}

/** The header length from the first 8 bytes, checked before the header is awaited. */
export function headerLength(first8: Uint8Array, file: string, fileBytes?: number): number {
  if (first8.length < 8) throw new WeightFormatError(file, `file is ${first8.length} bytes, too short for a safetensors header`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const limit = Math.min(MAX_HEADER_BYTES, fileBytes === undefined ? Infinity : fileBytes - 8);
  if (n < 2n || n > BigInt(limit)) {
    throw new WeightFormatError(file, `header length ${n} is impossible (limit ${limit} bytes); not a ${FORMAT_NAME} file, or corrupt`);
  }
  return Number(n);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses and validates a header. `prefix` holds at least the first 8 + header
 * length bytes of the file; `fileBytes` is the whole file's size when known
 * (Content-Length, Blob.size), so a wrong length fails here, before any download.
 */
export function parseVimFileHeader(prefix: Uint8Array, file: string, fileBytes?: number): VimFileHeader {
  const fail = (detail: string): never => { throw new WeightFormatError(file, detail); };
  const length = headerLength(prefix, file, fileBytes);
  const dataStart = 8 + length;
  if (prefix.length < dataStart) fail(`need ${dataStart} header bytes, have ${prefix.length}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, dataStart)));
  } catch {
    fail('header is not valid UTF-8 JSON');
  }
  if (!isRecord(json)) return fail('header is not a JSON object');
  const metadata = parseMetadata(json.__metadata__, fail);
  const hashes = jsonField(metadata, 'sha256', fail);
  const entries: VimFileEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    entries.push(parseEntry(name, value, hashes[name], fail));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  // safetensors' own rule, which also rules out overlaps: the entries tile the data section.
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) {
      fail(e.begin < at ? `tensor '${e.name}' overlaps the tensor before it (starts at ${e.begin}, previous ends at ${at})`
        : `gap of ${e.begin - at} bytes before tensor '${e.name}' (data_offsets must be contiguous)`);
    }
    at = e.end;
  }
  const dataBytes = at;
  if (dataBytes > MAX_DATA_BYTES) fail(`data section of ${dataBytes} bytes exceeds the ${MAX_DATA_BYTES}-byte limit`);
  if (fileBytes !== undefined && fileBytes !== dataStart + dataBytes) {
    fail(`file is ${fileBytes} bytes but its header describes ${dataStart + dataBytes}: ${fileBytes < dataStart + dataBytes ? 'truncated' : 'trailing bytes'}`);
  }
  const { weights, scales } = classify(entries, file, fail);
  checkQuantization(jsonField(metadata, 'quantization', fail), weights, fail);
  const config = checkConfig(weights, metadata, file, fail);
  const target = metadata.dtype as WeightDType;
  if (!(WEIGHT_DTYPES as readonly string[]).includes(target)) fail(`__metadata__ dtype '${metadata.dtype}' is not f32, f16 or int8`);
  return { file, dataStart, dataBytes, fileBytes: dataStart + dataBytes, config, target, entries, weights, scales, metadata };
}

function parseMetadata(raw: unknown, fail: (d: string) => never): Record<string, string> {
  if (!isRecord(raw)) return fail(`no __metadata__: not a ${FORMAT_NAME} file (convert it with 'vim-webgpu convert')`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') fail(`__metadata__['${k}'] is not a string`);
    out[k] = v as string;
  }
  if (out.format !== FORMAT_NAME) fail(`__metadata__ format is '${out.format ?? ''}', not '${FORMAT_NAME}' (convert the file with 'vim-webgpu convert')`);
  if (out.format_version !== String(FORMAT_VERSION)) {
    fail(`${FORMAT_NAME} format version ${out.format_version} is not supported (this engine reads version ${FORMAT_VERSION})`);
  }
  return out;
}

function jsonField(metadata: Record<string, string>, key: string, fail: (d: string) => never): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(metadata[key] ?? 'null');
  } catch {
    fail(`__metadata__ ${key} is not JSON`);
  }
  if (!isRecord(v)) return fail(`__metadata__ ${key} is missing or not a JSON object`);
  return v;
}

function parseEntry(name: string, value: unknown, hash: unknown, fail: (d: string) => never): VimFileEntry {
  if (!isRecord(value)) return fail(`entry '${name}' is not an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'I8' && dtype !== 'U8') return fail(`entry '${name}' has dtype ${String(dtype)}; ${FORMAT_NAME} v1 uses F32, F16, I8 and U8`);
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every(isCount) || shape.some((d) => d > 2 ** 31)) {
    return fail(`entry '${name}' has an invalid shape`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return fail(`entry '${name}' has invalid data_offsets`);
  const [begin, end] = offsets as number[];
  if (begin > end || end > MAX_DATA_BYTES) fail(`entry '${name}' data_offsets [${begin}, ${end}] are out of range (limit ${MAX_DATA_BYTES} bytes)`);
  // Every dim ≤ 2^31 and the product checked against end − begin, so no overflow goes unnoticed.
  const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * FILE_ITEM_SIZE[dtype];
  if (bytes !== end - begin) fail(`entry '${name}' shape ${shapeString(shape as number[])} × ${dtype} needs ${bytes} bytes, data_offsets span ${end - begin}`);
  if (typeof hash !== 'string' || !HEX64.test(hash)) fail(`entry '${name}' has no sha256 in __metadata__`);
  const kind = name.startsWith(PAD_PREFIX) ? 'pad' : name.endsWith(SCALE_SUFFIX) ? 'scale' : 'weight';
  return { name, dtype, shape: shape as number[], begin, end, sha256: hash as string, kind };
}

function classify(entries: VimFileEntry[], file: string, fail: (d: string) => never): Pick<VimFileHeader, 'weights' | 'scales'> {
  const weights = new Map<string, VimFileEntry>();
  const scales = new Map<string, VimFileEntry>();
  for (const e of entries) {
    if (e.kind === 'pad') {
      if (e.dtype !== 'U8' || e.shape.length !== 1 || e.shape[0] >= ALIGNMENT) fail(`pad entry '${e.name}' must be U8 with fewer than ${ALIGNMENT} bytes`);
    } else if (e.kind === 'weight') {
      if (e.dtype === 'U8') fail(`tensor '${e.name}' has dtype U8`);
      weights.set(e.name, e);
    }
  }
  for (const e of entries) {
    if (e.kind !== 'scale') continue;
    const owner = weights.get(e.name.slice(0, -SCALE_SUFFIX.length));
    if (!owner || owner.dtype !== 'I8') fail(`scale entry '${e.name}' belongs to no int8 tensor`);
    if (e.dtype !== 'F32' || e.shape.length !== 1 || e.shape[0] !== owner!.shape[0]) {
      throw new ModelShapeError(file, e.name, `expected F32 ${shapeString([owner!.shape[0]])}, found ${e.dtype} ${shapeString(e.shape)}`);
    }
    // The loader expands int8 tensors that the GPU keeps in f32 as they arrive, so it needs the scales first.
    if (e.begin > owner!.begin) fail(`scale entry '${e.name}' must precede its tensor in the data section`);
    scales.set(owner!.name, e);
  }
  for (const w of weights.values()) {
    if (w.dtype === 'I8' && !scales.has(w.name)) fail(`int8 tensor '${w.name}' has no '${w.name}${SCALE_SUFFIX}' entry`);
    if (w.dtype !== 'F32' && w.shape.length < 2) fail(`tensor '${w.name}' is ${w.dtype}, but only matrices may be reduced`);
  }
  return { weights, scales };
}

function checkQuantization(q: Record<string, unknown>, weights: Map<string, VimFileEntry>, fail: (d: string) => never): void {
  for (const w of weights.values()) {
    const info = q[w.name];
    const storage = isRecord(info) ? info.storage : undefined;
    if (w.dtype === 'F32' ? info !== undefined : storage !== FILE_STORAGE[storageOf(w) as Exclude<WeightDType, 'f32'>]) {
      fail(`__metadata__ quantization for '${w.name}' does not match its dtype ${w.dtype}`);
    }
  }
  const extra = Object.keys(q).find((k) => !weights.has(k));
  if (extra) fail(`__metadata__ quantization names '${extra}', which is not a tensor of the file`);
}

function checkConfig(weights: Map<string, VimFileEntry>, metadata: Record<string, string>, file: string, fail: (d: string) => never): VimConfig {
  const derived = deriveConfig(weights, file);
  let stated: unknown;
  try {
    stated = JSON.parse(metadata.config ?? 'null');
  } catch {
    fail('__metadata__ config is not JSON');
  }
  if (!isRecord(stated)) return fail('__metadata__ config is missing');
  for (const k of Object.keys(derived) as Array<keyof VimConfig>) {
    if (k !== 'normEps' && stated[k] !== derived[k]) fail(`__metadata__ config ${k} = ${String(stated[k])}, but the tensor shapes say ${derived[k]}`);
  }
  const eps = stated.normEps;
  if (typeof eps !== 'number' || !(eps > 0 && eps < 1)) fail(`__metadata__ config normEps = ${String(eps)} is not a small positive number`);
  return { ...derived, normEps: eps as number };
}
