// Node-only: a RandomAccessSource over a file on disk, using positional reads on
// one file handle so that only the requested byte ranges are ever loaded.
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { WeightFormatError } from '../errors.js';
import { checkRange, type RandomAccessSource } from './source.js';

export type FileSource = RandomAccessSource & { close(): Promise<void> };

export async function fileSource(path: string): Promise<FileSource> {
  const name = basename(path);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    // A typed error, so the CLI reports a missing file like any other unusable one.
    throw new WeightFormatError(name, `cannot open ${path}: ${(e as Error).message}`);
  }
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (e) {
    await handle.close();
    throw e;
  }
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      const out = new Uint8Array(length);
      let done = 0;
      // A positional read may return fewer bytes than asked; loop until filled.
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new WeightFormatError(name, `file ended at ${offset + done} while reading ${length} bytes at ${offset}; was it modified while open?`);
        }
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}
