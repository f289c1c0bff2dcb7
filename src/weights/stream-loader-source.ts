// Byte sources for the streaming loader. A ByteStream hands out chunks in file
// order as they arrive (a fetch body, a Blob's stream, an ArrayBuffer cut into
// pieces), so the loader never needs the whole file; httpRangeSource gives
// random access over HTTP Range requests, for .pth files whose tensors must be
// picked out of a zip.
import { WeightFetchError } from '../errors.js';
import { checkRange, type RandomAccessSource } from './source.js';

export interface ByteStream {
  /** Shown in errors and progress: a URL or file name. */
  readonly name: string;
  /** Total bytes when the transport states it (Content-Length, Blob.size). */
  readonly size?: number;
  /** The next chunk, or null after the last. Chunks are read-only views. */
  read(): Promise<Uint8Array | null>;
  /** Stops the transfer; later reads return null. */
  cancel(): Promise<void>;
}

export const DEFAULT_CHUNK = 1 << 20;

/** An in-memory buffer, or several, handed out in pieces of at most `chunk` bytes (no copies). */
export function bufferStream(name: string, data: Uint8Array | readonly Uint8Array[], chunk = DEFAULT_CHUNK): ByteStream {
  const parts = data instanceof Uint8Array ? [data] : data;
  let part = 0, at = 0, cancelled = false;
  return {
    name,
    size: parts.reduce((n, p) => n + p.byteLength, 0),
    async read() {
      while (!cancelled && part < parts.length) {
        const p = parts[part];
        if (at < p.byteLength) {
          const out = p.subarray(at, Math.min(p.byteLength, at + chunk));
          at += out.byteLength;
          return out;
        }
        part++;
        at = 0;
      }
      return null;
    },
    async cancel() { cancelled = true; },
  };
}

/** A random-access source read front to back in pieces of `chunk` bytes. */
export function randomStream(src: RandomAccessSource, chunk = DEFAULT_CHUNK): ByteStream {
  let at = 0, cancelled = false;
  return {
    name: src.name,
    size: src.size,
    async read() {
      if (cancelled || at >= src.size) return null;
      const out = await src.read(at, Math.min(chunk, src.size - at));
      at += out.byteLength;
      return out;
    },
    async cancel() { cancelled = true; },
  };
}

/** A ReadableStream (a fetch body, Blob.stream()) as a ByteStream. */
export function readableStream(name: string, body: ReadableStream<Uint8Array>, size?: number): ByteStream {
  const reader = body.getReader();
  let done = false;
  return {
    name,
    size,
    async read() {
      if (done) return null;
      for (;;) {
        const r = await reader.read();
        if (r.done) { done = true; return null; }
        if (r.value.byteLength > 0) return r.value;
      }
    },
    async cancel() {
      if (done) return;
      done = true;
      await reader.cancel().catch(() => undefined);
    },
  };
}

export function blobStream(blob: Blob, name: string): ByteStream {
  return readableStream(name, blob.stream() as ReadableStream<Uint8Array>, blob.size);
}

/** The body length a response states, unless it is compressed (then the header counts encoded bytes). */
export function responseSize(r: Response): number | undefined {
  if (r.headers.get('content-encoding')) return undefined;
  const n = Number(r.headers.get('content-length') ?? NaN);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export type FetchFn = typeof fetch;

/**
 * Random access to a URL through Range requests; every read is one request for
 * exactly its bytes (the .pth reader asks for a few large ranges: the zip
 * directory, data.pkl, then one record per tensor). Throws WeightFetchError if
 * the server ignores the Range header.
 */
export function httpRangeSource(url: string, size: number, options: { fetch?: FetchFn; signal?: AbortSignal } = {}): RandomAccessSource {
  const doFetch = options.fetch ?? fetch;
  return {
    name: url,
    size,
    async read(offset, length) {
      checkRange(url, size, offset, length);
      if (length === 0) return new Uint8Array(0);
      let r: Response;
      try {
        r = await doFetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` }, signal: options.signal });
      } catch (e) {
        options.signal?.throwIfAborted();
        throw new WeightFetchError(url, undefined, `range request failed: ${(e as Error).message}`);
      }
      if (r.status !== 206) {
        await r.body?.cancel().catch(() => undefined);
        throw new WeightFetchError(url, r.status, `server answered a Range request with HTTP ${r.status}, not 206`);
      }
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (bytes.byteLength !== length) throw new WeightFetchError(url, r.status, `range of ${length} bytes at ${offset} returned ${bytes.byteLength}`);
      return bytes;
    },
  };
}
