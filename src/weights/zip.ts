// Minimal zip reader for PyTorch checkpoints (torch.save writes a zip of stored,
// uncompressed records, always with zip64 end records). It trusts nothing: every
// size and offset is checked against the file before use, entries may not overlap,
// and every record read is checked against its CRC-32.
import { WeightFormatError } from '../errors.js';
import { crc32 } from './crc32.js';
import type { RandomAccessSource } from './source.js';

/** A zip record whose CRC-32 does not match its bytes. */
export class ZipChecksumError extends WeightFormatError {
  // A literal, not the constructor's name: minifiers rename classes.
  override name = 'ZipChecksumError';
}

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored; anything else is reported as unsupported when read. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  /** First byte this entry may not use: the next entry's header or the central directory. */
  readonly limit: number;
}

const SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50, SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22, LOCATOR_SIZE = 20, ZIP64_EOCD_SIZE = 56, CENTRAL_SIZE = 46, LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Bounds on what we agree to parse; real checkpoints hold a few thousand entries. */
export const ZIP_LIMITS = { maxEntries: 1 << 20, maxCentralDirectoryBytes: 64 << 20 };

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const utf8 = new TextDecoder('utf-8', { fatal: true });

function u64(dv: DataView, at: number, fail: (d: string) => never): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`64-bit field ${v} is larger than any file`);
  return Number(v);
}

export class ZipArchive {
  private readonly dataOffsets = new Map<string, number>();

  private constructor(readonly source: RandomAccessSource, readonly entries: ReadonlyMap<string, ZipEntry>) {}

  /** Reads and validates the end records and the central directory (no entry data). */
  static async open(source: RandomAccessSource): Promise<ZipArchive> {
    const fail = (detail: string): never => { throw new WeightFormatError(source.name, `zip: ${detail}`); };
    const dir = await locateCentralDirectory(source, fail);
    const bytes = await source.read(dir.offset, dir.size);
    const entries = parseCentralDirectory(bytes, dir.count, fail);
    return new ZipArchive(source, checkLayout(entries, dir.offset, fail));
  }

  get(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** Byte offset in the file where the entry's data starts (reads its local header once). */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(entry.name);
    if (known !== undefined) return known;
    const fail = (detail: string): never => {
      throw new WeightFormatError(this.source.name, `zip entry '${entry.name}': ${detail}`);
    };
    const expectedName = new TextEncoder().encode(entry.name);
    const headerLength = LOCAL_SIZE + expectedName.length;
    if (entry.localHeaderOffset + headerLength > entry.limit) fail('local header runs past the entry\'s space');
    const header = await this.source.read(entry.localHeaderOffset, headerLength);
    const dv = view(header);
    if (dv.getUint32(0, true) !== SIG_LOCAL) fail(`no local header at offset ${entry.localHeaderOffset}`);
    if (dv.getUint16(8, true) !== entry.method) fail('local header and central directory disagree on the compression method');
    const nameLength = dv.getUint16(26, true), extraLength = dv.getUint16(28, true);
    const localName = header.subarray(LOCAL_SIZE);
    if (nameLength !== expectedName.length || localName.some((b, i) => b !== expectedName[i])) {
      fail('local header names a different file than the central directory');
    }
    const start = entry.localHeaderOffset + LOCAL_SIZE + nameLength + extraLength;
    if (start + entry.compressedSize > entry.limit) {
      fail(`data (${entry.compressedSize} bytes at ${start}) overlaps the next entry or the central directory`);
    }
    this.dataOffsets.set(entry.name, start);
    return start;
  }

  /** The entry's bytes, checked against its CRC-32. Only stored (uncompressed) entries are supported. */
  async read(nameOrEntry: string | ZipEntry): Promise<Uint8Array> {
    const entry = typeof nameOrEntry === 'string' ? this.entries.get(nameOrEntry) : nameOrEntry;
    if (!entry) throw new WeightFormatError(this.source.name, `zip: no entry named '${nameOrEntry as string}'`);
    assertStored(this.source.name, entry);
    const bytes = await this.source.read(await this.dataOffset(entry), entry.compressedSize);
    const actual = crc32(bytes);
    if (actual !== entry.crc32) {
      throw new ZipChecksumError(this.source.name, `zip entry '${entry.name}': CRC-32 is ${hex(actual)}, ` +
        `the archive says ${hex(entry.crc32)}; the file is corrupt (re-download it)`);
    }
    return bytes;
  }
}

/** Throws a WeightFormatError unless the entry is stored uncompressed. */
export function assertStored(file: string, entry: ZipEntry): void {
  if (entry.method !== 0) {
    throw new WeightFormatError(file, `zip entry '${entry.name}' uses compression method ${entry.method}` +
      `${entry.method === 8 ? ' (deflate)' : ''}; only stored entries are supported, which is what torch.save writes`);
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

interface DirectoryLocation { offset: number; size: number; count: number; end: number }

/** Finds the end-of-central-directory record (and its zip64 twin) and returns where the directory is. */
async function locateCentralDirectory(src: RandomAccessSource, fail: (d: string) => never): Promise<DirectoryLocation> {
  if (src.size < EOCD_SIZE) fail(`file is ${src.size} bytes, too short for a zip archive`);
  // torch.save writes no archive comment, so the end records are usually the last
  // 42 bytes; only otherwise read the largest tail a comment allows.
  let found: { tail: Uint8Array; tailStart: number; at: number } | undefined;
  for (const want of [EOCD_SIZE + LOCATOR_SIZE, EOCD_SIZE + MAX_COMMENT + LOCATOR_SIZE]) {
    const tailLength = Math.min(src.size, want);
    const tail = await src.read(src.size - tailLength, tailLength);
    const at = findEndRecord(tail);
    if (at >= 0) { found = { tail, tailStart: src.size - tailLength, at }; break; }
    if (tailLength === src.size) break;
  }
  if (!found) return fail('no end-of-central-directory record: the file is not a zip archive, or it is truncated');
  const { tail, tailStart, at } = found;
  const dv = view(tail);
  if (dv.getUint16(at + 4, true) !== 0 || dv.getUint16(at + 6, true) !== 0) fail('multi-disk archives are not supported');
  let count = dv.getUint16(at + 10, true), size = dv.getUint32(at + 12, true), offset = dv.getUint32(at + 16, true);
  if (dv.getUint16(at + 8, true) !== count) fail('entry counts in the end record disagree');
  let end = tailStart + at;
  const loc = at - LOCATOR_SIZE;
  if (loc >= 0 && dv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    const z64 = await readZip64End(src, dv, loc, tailStart + loc, fail);
    // A 32-bit field that is not saturated must agree with its 64-bit twin.
    if ((count !== 0xffff && count !== z64.count) || (size !== 0xffffffff && size !== z64.size) ||
        (offset !== 0xffffffff && offset !== z64.offset)) {
      fail('zip64 end record disagrees with the end-of-central-directory record');
    }
    ({ count, size, offset } = z64);
    end = z64.at;
  } else if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    fail('end record needs zip64 values but the zip64 locator is missing (truncated file?)');
  }
  if (count > ZIP_LIMITS.maxEntries) fail(`${count} entries exceeds the limit of ${ZIP_LIMITS.maxEntries}`);
  if (size > ZIP_LIMITS.maxCentralDirectoryBytes) fail(`central directory of ${size} bytes exceeds the limit`);
  if (size < count * CENTRAL_SIZE) fail(`central directory of ${size} bytes cannot hold ${count} entries`);
  if (offset + size > end) fail(`central directory (${size} bytes at ${offset}) runs past its end record at ${end}; the file is truncated or corrupt`);
  return { offset, size, count, end };
}

/** Offset of the end record in `tail`: a signature whose comment length lands exactly on the end. */
function findEndRecord(tail: Uint8Array): number {
  const dv = view(tail);
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (dv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + dv.getUint16(i + 20, true) === tail.length) return i;
  }
  return -1;
}

async function readZip64End(src: RandomAccessSource, tail: DataView, loc: number, locAbs: number, fail: (d: string) => never) {
  if (tail.getUint32(loc + 4, true) !== 0 || tail.getUint32(loc + 16, true) > 1) fail('multi-disk archives are not supported');
  const at = u64(tail, loc + 8, fail);
  if (at + ZIP64_EOCD_SIZE > locAbs) fail(`zip64 end record offset ${at} is not before its locator`);
  const dv = view(await src.read(at, ZIP64_EOCD_SIZE));
  if (dv.getUint32(0, true) !== SIG_ZIP64_EOCD) fail(`no zip64 end record at offset ${at}`);
  const count = u64(dv, 32, fail);
  if (u64(dv, 24, fail) !== count) fail('entry counts in the zip64 end record disagree');
  return { at, count, size: u64(dv, 40, fail), offset: u64(dv, 48, fail) };
}

interface RawEntry extends Omit<ZipEntry, 'limit'> { nameBytes: number }

function parseCentralDirectory(bytes: Uint8Array, count: number, fail: (d: string) => never): RawEntry[] {
  const dv = view(bytes);
  const out: RawEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > bytes.length || dv.getUint32(p, true) !== SIG_CENTRAL) fail(`central directory entry ${i} is missing or corrupt`);
    const flags = dv.getUint16(p + 8, true);
    const nameLength = dv.getUint16(p + 28, true), extraLength = dv.getUint16(p + 30, true);
    const next = p + CENTRAL_SIZE + nameLength + extraLength + dv.getUint16(p + 32, true);
    if (next > bytes.length) fail(`central directory entry ${i} runs past the directory`);
    const name = entryName(bytes.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength), i, fail);
    if (flags & 0x41) fail(`entry '${name}' is encrypted`);
    let uncompressedSize = dv.getUint32(p + 24, true), compressedSize = dv.getUint32(p + 20, true);
    let localHeaderOffset = dv.getUint32(p + 42, true);
    // Saturated fields continue in the zip64 extra field (id 1), in this fixed order.
    if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      const extra = findExtra(dv, p + CENTRAL_SIZE + nameLength, extraLength, 0x0001, name, fail);
      let q = extra.start;
      const take = (): number => {
        if (q + 8 > extra.end) fail(`entry '${name}': zip64 extra field is too short`);
        q += 8;
        return u64(dv, q - 8, fail);
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = take();
      if (compressedSize === 0xffffffff) compressedSize = take();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
    }
    const method = dv.getUint16(p + 10, true);
    if (method === 0 && compressedSize !== uncompressedSize) fail(`stored entry '${name}' has different packed and unpacked sizes`);
    out.push({ name, method, crc32: dv.getUint32(p + 16, true), compressedSize, uncompressedSize, localHeaderOffset, nameBytes: nameLength });
    p = next;
  }
  if (p !== bytes.length) fail(`central directory has ${bytes.length - p} unexplained trailing bytes`);
  return out;
}

function findExtra(dv: DataView, start: number, length: number, id: number, name: string, fail: (d: string) => never) {
  const end = start + length;
  for (let q = start; q + 4 <= end;) {
    const size = dv.getUint16(q + 2, true);
    if (q + 4 + size > end) break;
    if (dv.getUint16(q, true) === id) return { start: q + 4, end: q + 4 + size };
    q += 4 + size;
  }
  return fail(`entry '${name}' needs a zip64 extra field but has none`);
}

/** Names must be relative paths without '..' or control characters. */
function entryName(raw: Uint8Array, index: number, fail: (d: string) => never): string {
  let name = '';
  try { name = utf8.decode(raw); } catch { fail(`entry ${index} has a name that is not valid UTF-8`); }
  // eslint-disable-next-line no-control-regex
  if (name === '' || name.startsWith('/') || /[\u0000-\u001f\\]/.test(name) || name.split('/').some((s) => s === '..' || s === '.')) {
    fail(`entry ${index} has an unsafe or empty name ${JSON.stringify(name)}`);
  }
  return name;
}

/** Entries must each claim their own stretch of the file, before the central directory. */
function checkLayout(raw: RawEntry[], directoryOffset: number, fail: (d: string) => never): Map<string, ZipEntry> {
  const sorted = [...raw].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const limits = new Map<RawEntry, number>();
  sorted.forEach((e, i) => {
    const limit = i + 1 < sorted.length ? sorted[i + 1].localHeaderOffset : directoryOffset;
    // The smallest extent the entry can have: local header, its name, its data.
    const minimalEnd = e.localHeaderOffset + LOCAL_SIZE + e.nameBytes + e.compressedSize;
    if (minimalEnd > limit) {
      fail(`entry '${e.name}' (${e.compressedSize} bytes at ${e.localHeaderOffset}) overlaps ` +
        (i + 1 < sorted.length ? `entry '${sorted[i + 1].name}'` : 'the central directory') + ' or lies outside the file');
    }
    limits.set(e, limit);
  });
  const entries = new Map<string, ZipEntry>();
  for (const e of raw) {
    if (entries.has(e.name)) fail(`entry '${e.name}' appears twice`);
    const { nameBytes: _, ...rest } = e;
    entries.set(e.name, { ...rest, limit: limits.get(e)! });
  }
  return entries;
}
