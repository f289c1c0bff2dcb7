// PyTorch checkpoints (torch.save zip format): locate and unpickle data.pkl,
// choose the state dict the official code loads (checkpoint['model']), and read
// only that state dict's storage records, one at a time.
import { UnsupportedDtypeError, WeightFormatError } from '../errors.js';
import type { HostTensor, StateDict } from '../tensor.js';
import { ITEM_SIZE, toFloat32, type DType } from './dtype.js';
import { unpickle } from './pickle.js';
import { TensorRef, describe, type PyDict, type PyValue } from './pickle-values.js';
import type { RandomAccessSource } from './source.js';
import { gatherStrided, isContiguous, lastElement, type TensorInfo } from './tensor-info.js';
import { ZipArchive, assertStored, type ZipEntry } from './zip.js';

/** data.pkl of a real checkpoint is tens of kilobytes; refuse absurd ones before reading them. */
export const MAX_PICKLE_BYTES = 64 << 20;

/**
 * A view may repeat its storage (stride 0, as torch.expand makes), so a few stored
 * floats could describe billions of elements and decoding them would allocate
 * without bound. The state dict's tensors may hold at most this many times the
 * elements of the storages they view (tied weights give 2), plus a small allowance.
 */
export const MAX_VIEW_AMPLIFICATION = 4;
const VIEW_ALLOWANCE = 1 << 16;

export interface PthTensor extends TensorInfo {
  /** Storage record holding the tensor. */
  entry: ZipEntry;
  /** Element offset into the storage, and strides, as pickled. */
  storageOffset: number;
  stride: number[];
}

export interface PthCheckpoint {
  archive: ZipArchive;
  /** The archive's folder (the file stem torch.save used), e.g. 'vim_t_midclstok_76p1acc'. */
  prefix: string;
  /** Top-level key the state dict was taken from ('model', 'state_dict'), or null for a bare state dict. */
  stateDictKey: string | null;
  /** Tensors in file order, each validated against its storage record. */
  tensors: PthTensor[];
}

/** Opens a .pth and lists the chosen state dict's tensors without reading their data. */
export async function openPth(src: RandomAccessSource): Promise<PthCheckpoint> {
  const fail = (detail: string): never => { throw new WeightFormatError(src.name, detail); };
  const archive = await ZipArchive.open(src);
  const pickles = [...archive.entries.keys()].filter((n) => n.endsWith('/data.pkl'));
  if (pickles.length !== 1) {
    fail(pickles.length ? `zip holds ${pickles.length} data.pkl files (${pickles.join(', ')}); expected one`
      : 'zip holds no <name>/data.pkl, so it is not a PyTorch checkpoint');
  }
  const prefix = pickles[0].slice(0, -'/data.pkl'.length);
  await checkByteOrder(archive, prefix, fail);
  const pklEntry = archive.get(pickles[0])!;
  if (pklEntry.uncompressedSize > MAX_PICKLE_BYTES) fail(`${pickles[0]} is ${pklEntry.uncompressedSize} bytes, over the ${MAX_PICKLE_BYTES}-byte limit`);
  const top = unpickle(await archive.read(pklEntry), src.name, pickles[0]);
  const { key, dict } = pickStateDict(top, fail);
  const tensors: PthTensor[] = [];
  const storages = new Map<string, { dtype: DType; numel: number }>();
  for (const [name, value] of dict) {
    if (typeof name !== 'string') return fail(`state dict key ${describe(name)} is not a string`);
    if (!(value instanceof TensorRef)) return fail(`state dict entry '${name}' is a ${describe(value)}, not a tensor`);
    tensors.push(await locateTensor(archive, prefix, name, value, storages, fail));
  }
  checkAmplification(tensors, storages, fail);
  return { archive, prefix, stateDictKey: key, tensors };
}

/** Reads the chosen state dict as float32 tensors; each storage record is read once and CRC-checked. */
export async function readPthStateDict(ckpt: PthCheckpoint): Promise<StateDict> {
  const file = ckpt.archive.source.name;
  const byRecord = new Map<ZipEntry, PthTensor[]>();
  for (const t of ckpt.tensors) {
    if (!byRecord.has(t.entry)) byRecord.set(t.entry, []);
    byRecord.get(t.entry)!.push(t);
  }
  const decoded = new Map<PthTensor, HostTensor>();
  for (const [entry, group] of byRecord) {
    const bytes = await ckpt.archive.read(entry);
    for (const t of group) decoded.set(t, { shape: t.shape, data: decodeTensor(bytes, t, file) });
  }
  // Keep the state dict's own order, not the order records were read in.
  return new Map(ckpt.tensors.map((t) => [t.name, decoded.get(t)!]));
}

function decodeTensor(record: Uint8Array, t: PthTensor, file: string): Float32Array {
  const size = ITEM_SIZE[t.dtype];
  const start = t.storageOffset * size;
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.contiguous) return toFloat32(record.subarray(start), t.dtype, n, file, t.name);
  const span = toFloat32(record.subarray(start), t.dtype, lastElement(t.shape, t.stride) + 1, file, t.name);
  return gatherStrided(span, t.shape, t.stride);
}

/** checkpoint['model'] as main.py loads it (never 'model_ema'), else 'state_dict', else a bare state dict. */
function pickStateDict(top: PyValue, fail: (d: string) => never): { key: string | null; dict: PyDict } {
  if (!(top instanceof Map)) return fail(`data.pkl holds a ${describe(top)}, not a dict of tensors`);
  for (const key of ['model', 'state_dict']) {
    if (!top.has(key)) continue;
    const v = top.get(key)!;
    if (!(v instanceof Map)) return fail(`checkpoint['${key}'] is a ${describe(v)}, not a state dict`);
    return { key, dict: v };
  }
  if (top.size > 0 && [...top.values()].every((v) => v instanceof TensorRef)) return { key: null, dict: top };
  const keys = [...top.keys()].slice(0, 12).map((k) => describe(k)).join(', ');
  return fail(`no state dict found: top-level keys are ${keys || '(none)'}; expected 'model', 'state_dict' or tensors`);
}

async function locateTensor(archive: ZipArchive, prefix: string, name: string, ref: TensorRef,
  storages: Map<string, { dtype: DType; numel: number }>, fail: (d: string) => never): Promise<PthTensor> {
  const file = archive.source.name;
  const { storage } = ref;
  if (storage.dtype === null) throw new UnsupportedDtypeError(file, name, `torch.${storage.typeName}`);
  const dtype = storage.dtype;
  const seen = storages.get(storage.key);
  if (seen && (seen.dtype !== dtype || seen.numel !== storage.numel)) {
    fail(`storage ${storage.key} is described twice with different types or sizes (tensor '${name}')`);
  }
  storages.set(storage.key, { dtype, numel: storage.numel });
  const recordName = `${prefix}/data/${storage.key}`;
  const entry = archive.get(recordName) ?? fail(`tensor '${name}' needs record ${recordName}, which the zip lacks`);
  assertStored(file, entry);
  const size = ITEM_SIZE[dtype];
  if (entry.uncompressedSize !== storage.numel * size) {
    fail(`record ${recordName} of tensor '${name}' has ${entry.uncompressedSize} bytes, but the pickle ` +
      `claims ${storage.numel} × ${dtype} = ${storage.numel * size} bytes`);
  }
  const last = lastElement(ref.shape, ref.stride);
  if (ref.offset + last >= storage.numel && last >= 0) {
    fail(`tensor '${name}' (shape (${ref.shape.join(', ')}), stride (${ref.stride.join(', ')}), offset ${ref.offset}) ` +
      `reaches past the end of its ${storage.numel}-element storage`);
  }
  const dataOffset = await archive.dataOffset(entry);
  return {
    name, dtype, shape: ref.shape, entry, storageOffset: ref.offset, stride: ref.stride,
    byteOffset: dataOffset + ref.offset * size, byteLength: (last + 1) * size,
    contiguous: isContiguous(ref.shape, ref.stride),
  };
}

function checkAmplification(tensors: PthTensor[], storages: Map<string, { numel: number }>, fail: (d: string) => never): void {
  const viewed = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
  const stored = [...storages.values()].reduce((sum, s) => sum + s.numel, 0);
  if (viewed > MAX_VIEW_AMPLIFICATION * stored + VIEW_ALLOWANCE) {
    fail(`the state dict's tensors hold ${viewed} elements but their storages only ${stored}: ` +
      'views that repeat their storage (stride 0) this much are not a checkpoint this engine loads');
  }
}

/** Torch ≥ 2.1 records the writer's byte order; data from a big-endian machine would need swapping. */
async function checkByteOrder(archive: ZipArchive, prefix: string, fail: (d: string) => never): Promise<void> {
  const entry = archive.get(`${prefix}/byteorder`);
  if (!entry) return;
  if (entry.uncompressedSize > 16) fail(`${prefix}/byteorder is ${entry.uncompressedSize} bytes; expected 'little'`);
  const order = new TextDecoder().decode(await archive.read(entry)).trim();
  if (order !== 'little') fail(`checkpoint was written on a ${order}-endian machine; only little-endian files are supported`);
}
