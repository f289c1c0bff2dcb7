// Merges each run of consecutive IDAT chunks into one before decoding. fast-png
// streams every IDAT chunk into fflate's inflater, which re-decodes the current
// deflate block from its start whenever a chunk ends inside it, so the cost
// grows with (chunks × block size): a 600 KB photo re-split into 8-byte IDAT
// chunks took 15 s, one with 1-byte chunks 29 s. One chunk per run makes it
// linear again. CRCs of the merged chunks are checked here, since the merged
// chunk gets a fresh one.
import { InputError } from '../errors.js';
import { crc32 } from '../weights/crc32.js';

interface Span { type: string; start: number; end: number; dataStart: number; dataEnd: number }

/** The chunk layout, or undefined when it is malformed (the decoder then reports the damage). */
function chunkSpans(bytes: Uint8Array): Span[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans: Span[] = [];
  for (let at = 8; at < bytes.length;) {
    if (at + 12 > bytes.length) return undefined;
    const length = view.getUint32(at);
    const end = at + 12 + length;
    if (end > bytes.length) return undefined;
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    spans.push({ type, start: at, end, dataStart: at + 8, dataEnd: at + 8 + length });
    at = end;
    if (type === 'IEND') break;
  }
  return spans;
}

function checkCrc(bytes: Uint8Array, s: Span, name: string): void {
  const stored = new DataView(bytes.buffer, bytes.byteOffset + s.dataEnd, 4).getUint32(0);
  if (crc32(bytes.subarray(s.start + 4, s.dataEnd)) !== stored) {
    throw new InputError(name, `corrupt or truncated PNG: CRC mismatch in the ${s.type} chunk at byte ${s.start}`);
  }
}

/** `bytes` with every run of IDAT chunks merged into one (the same bytes when there is nothing to merge). */
export function mergeIdatChunks(bytes: Uint8Array, name: string): Uint8Array {
  const spans = chunkSpans(bytes);
  if (!spans) return bytes;
  const runs: Span[][] = [];
  for (const s of spans) {
    const last = runs[runs.length - 1];
    if (s.type === 'IDAT' && last?.[0].type === 'IDAT') last.push(s); else runs.push([s]);
  }
  if (runs.every((r) => r.length === 1)) return bytes;
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const run of runs) {
    if (run.length === 1) { parts.push(bytes.subarray(run[0].start, run[0].end)); continue; }
    for (const s of run) checkCrc(bytes, s, name);
    const dataLength = run.reduce((n, s) => n + s.dataEnd - s.dataStart, 0);
    const merged = new Uint8Array(12 + dataLength);
    const view = new DataView(merged.buffer);
    view.setUint32(0, dataLength);
    merged.set(bytes.subarray(run[0].start + 4, run[0].start + 8), 4);
    let at = 8;
    for (const s of run) { merged.set(bytes.subarray(s.dataStart, s.dataEnd), at); at += s.dataEnd - s.dataStart; }
    view.setUint32(at, crc32(merged.subarray(4, at)));
    parts.push(merged);
  }
  const tail = spans[spans.length - 1].end;
  parts.push(bytes.subarray(tail));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Total data bytes of the IDAT chunks, counting only chunks that lie wholly inside the file. */
export function idatBytes(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) break;
    if (bytes[at + 4] === 0x49 && bytes[at + 5] === 0x44 && bytes[at + 6] === 0x41 && bytes[at + 7] === 0x54) total += length; // IDAT
    at += 12 + length;
  }
  return total;
}
