// A tiny zip writer for tests: stored (or falsely labelled) entries with CRC-32,
// optional zip64 end records like torch.save writes. It returns where each
// structure landed so tests can corrupt exactly the byte they mean to.
import { crc32 } from '../src/weights/crc32.js';

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Compression method to claim (the data is always written as given). */
  method?: number;
  /** CRC-32 to record instead of the real one. */
  crc?: number;
  /** General-purpose flags (bit 0 = encrypted). */
  flags?: number;
}

export interface ZipLayout {
  bytes: Uint8Array;
  /** Offset of each entry's local header, in input order. */
  local: number[];
  /** Offset of each entry's central directory record, in input order. */
  central: number[];
  centralStart: number;
  /** Offset of the classic end-of-central-directory record. */
  eocd: number;
}

export function writeZip(entries: ZipInput[], opts: { zip64?: boolean } = {}): ZipLayout {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const emit = (b: Uint8Array) => { chunks.push(b); size += b.length; };
  const record = (length: number, fill: (dv: DataView) => void) => {
    const b = new Uint8Array(length);
    fill(new DataView(b.buffer));
    return b;
  };
  const local: number[] = [];
  for (const e of entries) {
    const name = enc.encode(e.name);
    local.push(size);
    emit(record(30, (dv) => {
      dv.setUint32(0, 0x04034b50, true); dv.setUint16(4, 20, true); dv.setUint16(6, e.flags ?? 0, true);
      dv.setUint16(8, e.method ?? 0, true); dv.setUint32(14, e.crc ?? crc32(e.data), true);
      dv.setUint32(18, e.data.length, true); dv.setUint32(22, e.data.length, true); dv.setUint16(26, name.length, true);
    }));
    emit(name);
    emit(e.data);
  }
  const centralStart = size;
  const central: number[] = [];
  entries.forEach((e, i) => {
    const name = enc.encode(e.name);
    central.push(size);
    emit(record(46, (dv) => {
      dv.setUint32(0, 0x02014b50, true); dv.setUint16(4, 20, true); dv.setUint16(6, 20, true);
      dv.setUint16(8, e.flags ?? 0, true); dv.setUint16(10, e.method ?? 0, true);
      dv.setUint32(16, e.crc ?? crc32(e.data), true); dv.setUint32(20, e.data.length, true);
      dv.setUint32(24, e.data.length, true); dv.setUint16(28, name.length, true); dv.setUint32(42, local[i], true);
    }));
    emit(name);
  });
  const centralSize = size - centralStart;
  if (opts.zip64) {
    const z64 = size;
    emit(record(56, (dv) => {
      dv.setUint32(0, 0x06064b50, true); dv.setBigUint64(4, 44n, true); dv.setUint16(12, 45, true); dv.setUint16(14, 45, true);
      dv.setBigUint64(24, BigInt(entries.length), true); dv.setBigUint64(32, BigInt(entries.length), true);
      dv.setBigUint64(40, BigInt(centralSize), true); dv.setBigUint64(48, BigInt(centralStart), true);
    }));
    emit(record(20, (dv) => {
      dv.setUint32(0, 0x07064b50, true); dv.setBigUint64(8, BigInt(z64), true); dv.setUint32(16, 1, true);
    }));
  }
  const eocd = size;
  emit(record(22, (dv) => {
    dv.setUint32(0, 0x06054b50, true); dv.setUint16(8, entries.length, true); dv.setUint16(10, entries.length, true);
    dv.setUint32(12, centralSize, true); dv.setUint32(16, centralStart, true);
  }));
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return { bytes, local, central, centralStart, eocd };
}
