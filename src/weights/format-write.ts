// Writes a vim-webgpu v1 file (see format.ts and weights/FORMAT.md): entries in
// the given order, each starting 16-byte aligned, with U8 pad entries filling
// the gaps (safetensors readers reject gaps between data_offsets), and the
// header padded with spaces so the data section itself starts aligned.
import type { VimConfig } from '../model/config.js';
import {
  ALIGNMENT, FORMAT_NAME, FORMAT_VERSION, PAD_PREFIX, type FileDType,
} from './format.js';

import { digestHex } from './sha256.js';
import type { WeightDType } from './weight-dtype.js';

export interface WriteEntry {
  name: string;
  dtype: FileDType;
  shape: number[];
  /** Little-endian element bytes. */
  bytes: Uint8Array;
}

export interface VimFile {
  /** The 8-byte length, the JSON header and its padding. */
  header: Uint8Array;
  /** The data section in order; header followed by parts is the file. */
  parts: Uint8Array[];
  byteLength: number;
  config: VimConfig;
  metadata: Record<string, string>;
}

export interface WriteOptions {
  config: VimConfig;
  target: WeightDType;
  /** Logical tensor name → its storage and scale entry, for every non-f32 tensor. */
  /** `storage` as the file writes it (FILE_STORAGE). */
  quantization: Record<string, { storage: string; scheme?: string; scale?: string }>;
  /** Shown in the metadata: where the weights came from (file name, no path). */
  source?: string;
  /** Descriptive entries carried over from the source file (classes, arch); never override ours. */
  carried?: Record<string, string>;
}

export async function writeEngineFile(entries: WriteEntry[], o: WriteOptions): Promise<VimFile> {
  const layout: Array<WriteEntry & { begin: number }> = [];
  let at = 0, pads = 0;
  for (const e of entries) {
    const misalign = at % ALIGNMENT;
    if (misalign !== 0) {
      const n = ALIGNMENT - misalign;
      layout.push({ name: `${PAD_PREFIX}${pads++}`, dtype: 'U8', shape: [n], bytes: new Uint8Array(n), begin: at });
      at += n;
    }
    layout.push({ ...e, begin: at });
    at += e.bytes.byteLength;
  }
  const hashes: Record<string, string> = {};
  for (const e of layout) hashes[e.name] = await digestHex(e.bytes);
  const metadata: Record<string, string> = {
    ...o.carried,
    format: FORMAT_NAME,
    format_version: String(FORMAT_VERSION),
    dtype: o.target,
    config: JSON.stringify(o.config),
    quantization: JSON.stringify(o.quantization),
    sha256: JSON.stringify(hashes),
    ...(o.source ? { source: o.source } : {}),
  };
  // No prototype: a tensor named '__proto__' would otherwise vanish from the JSON.
  const json: Record<string, unknown> = Object.create(null);
  json.__metadata__ = metadata;
  for (const e of layout) json[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.begin + e.bytes.byteLength] };
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil((8 + text.length) / ALIGNMENT) * ALIGNMENT - 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + text.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, parts: layout.map((e) => e.bytes), byteLength: header.length + at, config: o.config, metadata };
}

/** The whole file in one buffer (tests, small models, the browser's cache). */
export function concatVimFile(f: VimFile): Uint8Array {
  const out = new Uint8Array(f.byteLength);
  out.set(f.header, 0);
  let at = f.header.length;
  for (const p of f.parts) { out.set(p, at); at += p.length; }
  return out;
}
