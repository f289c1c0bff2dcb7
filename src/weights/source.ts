// Random access to the bytes of a weight file. Readers only ever ask for the byte
// ranges they need, so a 400 MB checkpoint is never held whole in memory, and the
// same reader code works on an in-memory buffer, a browser Blob/File or (in Node)
// a file handle (see node-source.ts).
import { WeightFormatError } from '../errors.js';

export interface RandomAccessSource {
  /** Shown in error messages: a file name or URL. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`; the caller owns the result. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Throws unless [offset, offset + length) lies inside a source of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
      offset + length > size) {
    throw new WeightFormatError(name,
      `read of ${length} bytes at offset ${offset} lies outside the file (${size} bytes); the file is truncated or corrupt`);
  }
}

/** A source over bytes already in memory. Reads return copies, so callers may keep or modify them. */
export function bufferSource(name: string, bytes: Uint8Array): RandomAccessSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.slice(offset, offset + length);
    },
  };
}

/** A source over a Blob or File (browser, or Node >= 20); only the requested slices are loaded. */
export function blobSource(blob: Blob, name?: string): RandomAccessSource {
  const label = name ?? ((blob as { name?: unknown }).name as string | undefined) ?? 'blob';
  return {
    name: label,
    size: blob.size,
    async read(offset, length) {
      checkRange(label, blob.size, offset, length);
      const bytes = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      if (bytes.byteLength !== length) {
        throw new WeightFormatError(label, `short read: wanted ${length} bytes at ${offset}, got ${bytes.byteLength}`);
      }
      return bytes;
    },
  };
}
