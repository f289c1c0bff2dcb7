// Opening a weight source for the loader: a URL (fetch), a Blob/File, bytes
// in memory, or a random-access source of the caller's. A vim-webgpu file is streamed as it arrives; anything else (.pth,
// a plain safetensors state dict) needs random access for the converter: over
// HTTP Range requests when the server offers them (only the model's records
// are then downloaded), else the download is completed into a Blob first.
import { WeightFetchError } from '../errors.js';
import { detectFormat } from './index.js';
import { MAX_HEADER_BYTES } from './format.js';
import { isVimFile } from './format-read.js';
import { blobSource, bufferSource, type RandomAccessSource } from './source.js';
import {
  blobStream, bufferStream, httpRangeSource, randomStream, readableStream, responseSize, type ByteStream, type FetchFn,
} from './stream-loader-source.js';

export type WeightSource = string | URL | Blob | ArrayBuffer | ArrayBufferView | RandomAccessSource;

export function isRandomAccess(source: unknown): source is RandomAccessSource {
  const s = source as RandomAccessSource;
  return typeof source === 'object' && source !== null && typeof s.read === 'function' && typeof s.size === 'number';
}

/** A source after its first bytes were seen. */
export type OpenedSource =
  | { kind: 'vim-file'; name: string; size?: number; stream(): ByteStream; body?: ReadableStream<Uint8Array> }
  | { kind: 'convert'; name: string; random(): Promise<RandomAccessSource> };

export function isUrl(source: WeightSource): source is string | URL {
  return typeof source === 'string' || source instanceof URL;
}

/** A stable name for errors and the cache: an absolute URL, a file name, or 'buffer'. */
export function sourceName(source: WeightSource): string {
  if (isUrl(source)) return new URL(String(source), (globalThis as { location?: Location }).location?.href).href;
  if (typeof Blob !== 'undefined' && source instanceof Blob) return (source as { name?: string }).name ?? 'blob';
  if (isRandomAccess(source)) return source.name;
  return 'buffer';
}

export async function openSource(source: WeightSource, o: { fetch?: FetchFn; signal?: AbortSignal; chunkSize?: number }): Promise<OpenedSource> {
  const name = sourceName(source);
  if (isUrl(source)) return openUrl(name, o);
  const random = isRandomAccess(source) ? source : source instanceof Blob ? blobSource(source, name) : bufferSource(name, bytesOf(source));
  if (await isVimFile(random)) {
    const stream = (): ByteStream => isRandomAccess(source) ? randomStream(source, o.chunkSize)
      : source instanceof Blob ? blobStream(source, name) : bufferStream(name, bytesOf(source), o.chunkSize);
    return { kind: 'vim-file', name, size: random.size, stream };
  }
  await detectFormat(random);  // a typed error saying what the bytes are, if not a checkpoint
  return { kind: 'convert', name, random: async () => random };
}

function bytesOf(b: ArrayBuffer | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
}

async function openUrl(url: string, o: { fetch?: FetchFn; signal?: AbortSignal }): Promise<OpenedSource> {
  const doFetch = o.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, { signal: o.signal });
  } catch (e) {
    o.signal?.throwIfAborted();
    throw new WeightFetchError(url, undefined, `download failed: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new WeightFetchError(url, res.status, `HTTP ${res.status} ${res.statusText}`.trim());
  }
  const size = responseSize(res);
  const stream = readableStream(url, res.body, size);
  const prefix = await readPrefix(stream);
  const body = prepend(prefix.chunks, stream);
  if (prefix.vimFile) return { kind: 'vim-file', name: url, size, stream: () => readableStream(url, body, size), body };
  const head = concat(prefix.chunks);
  await detectFormat(bufferSource(url, head));
  const ranges = res.headers.get('accept-ranges') === 'bytes' && size !== undefined;
  return {
    kind: 'convert', name: url,
    async random() {
      if (ranges) {
        await body.cancel().catch(() => undefined);
        return httpRangeSource(url, size!, { fetch: doFetch, signal: o.signal });
      }
      // No Range support: finish this download into a Blob (kept by the browser, often on disk).
      return blobSource(await new Response(body).blob(), url);
    },
  };
}

/**
 * Reads enough of a stream to tell a vim-webgpu file (its header's metadata) from
 * anything else; the chunks read are kept to be replayed.
 */
async function readPrefix(stream: ByteStream): Promise<{ chunks: Uint8Array[]; vimFile: boolean }> {
  const chunks: Uint8Array[] = [];
  let have = 0;
  const fill = async (n: number) => {
    while (have < n) {
      const c = await stream.read();
      if (!c) return false;
      chunks.push(c);
      have += c.length;
    }
    return true;
  };
  if (!(await fill(8))) return { chunks, vimFile: false };
  const first = concat(chunks).subarray(0, 8);
  const length = Number(new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true));
  if (first[0] === 0x50 && first[1] === 0x4b) return { chunks, vimFile: false };  // 'PK': a zip (.pth)
  if (length < 2 || length > MAX_HEADER_BYTES || !(await fill(8 + length))) return { chunks, vimFile: false };
  return { chunks, vimFile: await isVimFile(bufferSource('prefix', concat(chunks).subarray(0, 8 + length))) };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The chunks already read, then the rest of the stream, as one ReadableStream. */
function prepend(prefix: Uint8Array[], rest: ByteStream): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < prefix.length) { controller.enqueue(prefix[i++]); return; }
      try {
        const c = await rest.read();
        if (c) controller.enqueue(c); else controller.close();
      } catch (e) {
        controller.error(e);
      }
    },
    cancel: () => rest.cancel(),
  });
}
