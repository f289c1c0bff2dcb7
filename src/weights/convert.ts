// Any weight file this engine reads (.pth, a plain safetensors state dict, or
// one of our own files) → a vim-webgpu file of the requested dtype. Browser-safe:
// it works on a RandomAccessSource, reads only the model's tensors, one at a
// time (a .pth's optimizer state and EMA copy are never touched), and keeps
// only the (smaller) output in memory. The CLI and the worker both call this.
import { VimError, WeightFormatError } from '../errors.js';
import { deriveConfig, expectedTensors, type VimConfig } from '../model/config.js';
import { detectFormat } from './index.js';
import { toFloat32, ITEM_SIZE } from './dtype.js';
import { FILE_DTYPE, FILE_STORAGE, SCALE_SUFFIX } from './format.js';
import { checkEntryFinite, decodeEntry, isVimFile, readVimFileHeader, verifyEntry } from './format-read.js';
import { firstNonFinite, nonFiniteTensor } from './finite.js';
import { writeEngineFile, type VimFile, type WriteEntry, type WriteOptions } from './format-write.js';
import { openPth, type PthTensor } from './pth.js';
import { DEFAULT_POLICY, encodeF16, quantizeInt8, type QuantPolicy } from './quantize.js';
import { readSafetensorsHeader } from './safetensors.js';
import type { RandomAccessSource } from './source.js';
import { gatherStrided, lastElement } from './tensor-info.js';
import { WEIGHT_DTYPES, type WeightDType } from './weight-dtype.js';

export interface ConvertOptions {
  dtype: WeightDType;
  policy?: QuantPolicy;
  /** Source bytes read so far, of the model tensors' total (monotonic). */
  onProgress?: (readBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

/** A source opened for conversion: its config, and its tensors one at a time as float32. */
interface OpenedSource {
  config: VimConfig;
  totalBytes: number;
  read(name: string): Promise<{ data: Float32Array; bytes: number }>;
}

export async function convertWeights(src: RandomAccessSource, o: ConvertOptions): Promise<VimFile> {
  if (!WEIGHT_DTYPES.includes(o.dtype)) throw new VimError(`unknown dtype '${o.dtype}': use f32, f16 or int8`);
  const policy = o.policy ?? DEFAULT_POLICY;
  const opened = await openSource(src);
  const { config } = opened;
  const entries: WriteEntry[] = [];
  const quantization: WriteOptions['quantization'] = {};
  let readBytes = 0;
  o.onProgress?.(0, opened.totalBytes);
  for (const [name, shape] of expectedTensors(config)) {
    o.signal?.throwIfAborted();
    const { data, bytes } = await opened.read(name);
    readBytes += bytes;
    // Refused here too: f16 and f32 would carry NaN/Inf into the file unnoticed.
    const bad = firstNonFinite(data);
    if (bad >= 0) throw nonFiniteTensor(src.name, name, data[bad], bad);
    let storage: WeightDType = policy.storageFor(name, shape, o.dtype);
    // Values past f16's range would become infinities: such a tensor stays f32.
    if (storage === 'f16' && data.some((v) => Math.abs(v) > 65504)) storage = 'f32';
    if (storage === 'int8') {
      let q;
      try {
        q = quantizeInt8(data, shape[0]);
      } catch (e) {
        throw new WeightFormatError(src.name, `tensor '${name}': ${(e as Error).message}`);
      }
      entries.push({ name: name + SCALE_SUFFIX, dtype: 'F32', shape: [shape[0]], bytes: bytesOf(q.scales) });
      entries.push({ name, dtype: 'I8', shape, bytes: bytesOf(q.q) });
      quantization[name] = { storage: FILE_STORAGE.int8, scheme: 'symmetric-per-output-channel', scale: name + SCALE_SUFFIX };
    } else {
      entries.push({ name, dtype: FILE_DTYPE[storage], shape, bytes: bytesOf(storage === 'f16' ? encodeF16(data) : data) });
      if (storage === 'f16') quantization[name] = { storage: FILE_STORAGE.f16 };
    }
    o.onProgress?.(readBytes, opened.totalBytes);
  }
  return writeEngineFile(entries, { config, target: o.dtype, quantization, source: src.name, carried: await carriedMetadata(src) });
}

/** Metadata worth keeping through a conversion: what the classes are and the input size trained at. */
const CARRIED_KEYS = ['classes', 'arch'];

async function carriedMetadata(src: RandomAccessSource): Promise<Record<string, string>> {
  if ((await detectFormat(src)) !== 'safetensors') return {};
  const { metadata } = await readSafetensorsHeader(src);
  return Object.fromEntries(CARRIED_KEYS.filter((k) => typeof metadata[k] === 'string').map((k) => [k, metadata[k]]));
}

function bytesOf(a: Float32Array | Uint16Array | Int8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function openSource(src: RandomAccessSource): Promise<OpenedSource> {
  if (await detectFormat(src) === 'pth') return openPthSource(src);
  if (await isVimFile(src)) return openEngineSource(src);
  const header = await readSafetensorsHeader(src);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const config = deriveConfig(byName, src.name);
  return {
    config,
    totalBytes: header.tensors.reduce((s, t) => s + t.byteLength, 0),
    async read(name) {
      const t = byName.get(name)!;
      const n = t.shape.reduce((a, b) => a * b, 1);
      return { data: toFloat32(await src.read(t.byteOffset, t.byteLength), t.dtype, n, src.name, name), bytes: t.byteLength };
    },
  };
}

async function openPthSource(src: RandomAccessSource): Promise<OpenedSource> {
  const ckpt = await openPth(src);
  const byName = new Map(ckpt.tensors.map((t) => [t.name, t]));
  const config = deriveConfig(byName, src.name);
  // Tensors may share a storage record (rare in checkpoints); keep the last one read.
  let last: { entry: PthTensor['entry']; bytes: Uint8Array } | undefined;
  return {
    config,
    totalBytes: ckpt.tensors.reduce((s, t) => s + t.byteLength, 0),
    async read(name) {
      const t = byName.get(name)!;
      if (last?.entry !== t.entry) last = { entry: t.entry, bytes: await ckpt.archive.read(t.entry) };  // CRC-checked
      const size = ITEM_SIZE[t.dtype];
      const record = last.bytes.subarray(t.storageOffset * size);
      const n = t.shape.reduce((a, b) => a * b, 1);
      const data = t.contiguous ? toFloat32(record, t.dtype, n, src.name, name)
        : gatherStrided(toFloat32(record, t.dtype, lastElement(t.shape, t.stride) + 1, src.name, name), t.shape, t.stride);
      return { data, bytes: t.byteLength };
    },
  };
}

/** Our own format as input: re-encode at another dtype (int8 data stays as rounded). */
async function openEngineSource(src: RandomAccessSource): Promise<OpenedSource> {
  const h = await readVimFileHeader(src);
  const read = async (name: string) => {
    const e = name.endsWith(SCALE_SUFFIX) ? h.scales.get(name.slice(0, -SCALE_SUFFIX.length))! : h.weights.get(name)!;
    const bytes = await src.read(h.dataStart + e.begin, e.end - e.begin);
    await verifyEntry(src.name, e, bytes);
    checkEntryFinite(src.name, e, bytes);
    return bytes;
  };
  return {
    config: h.config,
    totalBytes: h.dataBytes,
    async read(name) {
      const e = h.weights.get(name);
      if (!e) throw new WeightFormatError(src.name, `tensor '${name}' is missing`);
      const scale = h.scales.get(name);
      const data = decodeEntry(e, await read(name), scale && await read(name + SCALE_SUFFIX));
      return { data, bytes: e.end - e.begin + (scale ? scale.end - scale.begin : 0) };
    },
  };
}
