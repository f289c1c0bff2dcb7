// Zip archives the way torch.save writes them (stored entries, zip64 end
// records), with optional lies: an entry can claim a size or offset that its
// bytes do not back (through the zip64 extra field, so it can claim terabytes).
// Also a scanner that finds every structure of an archive, so mutations can aim
// at real boundaries and fields.
import { crc32 } from '../../../src/weights/crc32.js';

export interface ZipEntryInput {
  name: string;
  data: Uint8Array;
  method?: number;
  /** Sizes / local-header offset to claim in the central directory instead of the real ones. */
  claimSize?: bigint;
  claimOffset?: bigint;
}

export function buildZip(entries: ZipEntryInput[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let size = 0;
  const emit = (b: Uint8Array) => { parts.push(b); size += b.length; };
  const rec = (n: number, fill: (dv: DataView) => void) => { const b = new Uint8Array(n); fill(new DataView(b.buffer)); return b; };
  const locals: number[] = [];
  for (const e of entries) {
    const name = enc.encode(e.name);
    locals.push(size);
    emit(rec(30, (dv) => {
      dv.setUint32(0, 0x04034b50, true); dv.setUint16(4, 20, true); dv.setUint16(8, e.method ?? 0, true);
      dv.setUint32(14, crc32(e.data), true); dv.setUint32(18, e.data.length, true); dv.setUint32(22, e.data.length, true);
      dv.setUint16(26, name.length, true);
    }));
    emit(name);
    emit(e.data);
  }
  const centralStart = size;
  entries.forEach((e, i) => {
    const name = enc.encode(e.name);
    const z64: bigint[] = [];
    if (e.claimSize !== undefined) z64.push(e.claimSize, e.claimSize);
    if (e.claimOffset !== undefined) z64.push(e.claimOffset);
    const extra = z64.length ? rec(4 + 8 * z64.length, (dv) => {
      dv.setUint16(0, 1, true); dv.setUint16(2, 8 * z64.length, true);
      z64.forEach((v, k) => dv.setBigUint64(4 + 8 * k, BigInt.asUintN(64, v), true));
    }) : new Uint8Array(0);
    emit(rec(46, (dv) => {
      dv.setUint32(0, 0x02014b50, true); dv.setUint16(4, 45, true); dv.setUint16(6, 45, true);
      dv.setUint16(10, e.method ?? 0, true); dv.setUint32(16, crc32(e.data), true);
      const sz = e.claimSize !== undefined ? 0xffffffff : e.data.length;
      dv.setUint32(20, sz, true); dv.setUint32(24, sz, true);
      dv.setUint16(28, name.length, true); dv.setUint16(30, extra.length, true);
      dv.setUint32(42, e.claimOffset !== undefined ? 0xffffffff : locals[i], true);
    }));
    emit(name);
    emit(extra);
  });
  const centralSize = size - centralStart;
  const z64At = size;
  emit(rec(56, (dv) => {
    dv.setUint32(0, 0x06064b50, true); dv.setBigUint64(4, 44n, true); dv.setUint16(12, 45, true); dv.setUint16(14, 45, true);
    dv.setBigUint64(24, BigInt(entries.length), true); dv.setBigUint64(32, BigInt(entries.length), true);
    dv.setBigUint64(40, BigInt(centralSize), true); dv.setBigUint64(48, BigInt(centralStart), true);
  }));
  emit(rec(20, (dv) => { dv.setUint32(0, 0x07064b50, true); dv.setBigUint64(8, BigInt(z64At), true); dv.setUint32(16, 1, true); }));
  emit(rec(22, (dv) => {
    dv.setUint32(0, 0x06054b50, true); dv.setUint16(8, 0xffff, true); dv.setUint16(10, 0xffff, true);
    dv.setUint32(12, 0xffffffff, true); dv.setUint32(16, 0xffffffff, true);
  }));
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Where each structure of a (well-formed) archive lies. */
export interface ZipLayout {
  locals: number[];
  dataStarts: number[];
  dataEnds: number[];
  centrals: number[];
  names: string[];
  centralStart: number;
  zip64End: number;
  locator: number;
  eocd: number;
}

export function scanZip(bytes: Uint8Array): ZipLayout {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = bytes.length - 22;
  const locator = eocd - 20;
  const hasZip64 = locator >= 0 && dv.getUint32(locator, true) === 0x07064b50;
  const zip64End = hasZip64 ? Number(dv.getBigUint64(locator + 8, true)) : -1;
  const count = hasZip64 ? Number(dv.getBigUint64(zip64End + 32, true)) : dv.getUint16(eocd + 10, true);
  const centralStart = hasZip64 ? Number(dv.getBigUint64(zip64End + 48, true)) : dv.getUint32(eocd + 16, true);
  const layout: ZipLayout = { locals: [], dataStarts: [], dataEnds: [], centrals: [], names: [], centralStart, zip64End, locator: hasZip64 ? locator : -1, eocd };
  let p = centralStart;
  for (let i = 0; i < count; i++) {
    const n = dv.getUint16(p + 28, true), x = dv.getUint16(p + 30, true), c = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true), csize = dv.getUint32(p + 20, true);
    if (local === 0xffffffff || csize === 0xffffffff) {
      // zip64 extra: fields present only for saturated values, in order usize, csize, offset.
      let q = p + 46 + n + 4;
      if (dv.getUint32(p + 24, true) === 0xffffffff) q += 8;
      if (csize === 0xffffffff) { csize = Number(dv.getBigUint64(q, true)); q += 8; }
      if (local === 0xffffffff) local = Number(dv.getBigUint64(q, true));
    }
    layout.centrals.push(p);
    layout.names.push(new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + n)));
    layout.locals.push(local);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    layout.dataStarts.push(start);
    layout.dataEnds.push(start + csize);
    p += 46 + n + x + c;
  }
  return layout;
}

/** Every entry of a well-formed archive, for rebuilding it with changes. */
export function zipEntries(bytes: Uint8Array): ZipEntryInput[] {
  const l = scanZip(bytes);
  return l.names.map((name, i) => ({ name, data: bytes.slice(l.dataStarts[i], l.dataEnds[i]) }));
}

/** Offsets of the fields a lying header would change: [absolute offset, width in bytes]. */
export function zipFields(l: ZipLayout): Array<[number, 2 | 4 | 8]> {
  const f: Array<[number, 2 | 4 | 8]> = [];
  for (const c of l.centrals) f.push([c + 8, 2], [c + 10, 2], [c + 16, 4], [c + 20, 4], [c + 24, 4], [c + 28, 2], [c + 30, 2], [c + 32, 2], [c + 34, 2], [c + 42, 4]);
  for (const p of l.locals) f.push([p + 8, 2], [p + 18, 4], [p + 22, 4], [p + 26, 2], [p + 28, 2]);
  f.push([l.eocd + 4, 2], [l.eocd + 8, 2], [l.eocd + 10, 2], [l.eocd + 12, 4], [l.eocd + 16, 4], [l.eocd + 20, 2]);
  if (l.zip64End >= 0) f.push([l.zip64End + 4, 8], [l.zip64End + 24, 8], [l.zip64End + 32, 8], [l.zip64End + 40, 8], [l.zip64End + 48, 8]);
  if (l.locator >= 0) f.push([l.locator + 4, 4], [l.locator + 8, 8], [l.locator + 16, 4]);
  return f;
}

/** Structural boundaries: where each header, name, data block and end record starts and ends. */
export function zipBoundaries(l: ZipLayout): number[] {
  const b = [...l.locals, ...l.locals.map((p) => p + 30), ...l.dataStarts, ...l.dataEnds, ...l.centrals, ...l.centrals.map((c) => c + 46),
    l.centralStart, l.eocd, l.eocd + 22];
  if (l.zip64End >= 0) b.push(l.zip64End, l.zip64End + 56);
  if (l.locator >= 0) b.push(l.locator, l.locator + 20);
  return b;
}
