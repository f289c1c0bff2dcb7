// A byte source for the weight fuzzers that counts what the reader pulls, so
// "reads no more than the file" is checked even when the reader then throws.
import { bufferSource, type RandomAccessSource } from '../../src/weights/source.js';
import type { RunStats } from './harness.js';

export function countingSource(name: string, bytes: Uint8Array, stats: RunStats): RandomAccessSource {
  const inner = bufferSource(name, bytes);
  stats.bytesRead = 0;
  return {
    name,
    size: inner.size,
    async read(offset, length) {
      const bytes = await inner.read(offset, length);
      stats.bytesRead! += bytes.length;
      return bytes;
    },
  };
}
