// Shared by the streaming-loader tests: converted fixture files, a fetch that
// serves bytes in small chunks (optionally with Range support), a header
// rewriter for hostile-file cases, and an in-memory Cache API.
import { readFileSync } from 'node:fs';
import { fixturePath } from './fixtures.js';
import { bufferSource } from '../src/weights/source.js';
import { convertWeights } from '../src/weights/convert.js';
import { concatVimFile } from '../src/weights/format-write.js';
import type { WeightDType } from '../src/weights/weight-dtype.js';


const converted = new Map<string, Uint8Array>();

/** tiny.pth converted to a vim-webgpu file of this dtype (cached per run). */
export async function tinyFile(dtype: WeightDType): Promise<Uint8Array> {
  let f = converted.get(dtype);
  if (!f) {
    const pth = new Uint8Array(readFileSync(fixturePath('tiny.pth')));
    f = concatVimFile(await convertWeights(bufferSource('tiny.pth', pth), { dtype }));
    converted.set(dtype, f);
  }
  return f;
}

export interface ServedFile {
  bytes: Uint8Array;
  /** Chunk size of response bodies. */
  chunk?: number;
  acceptRanges?: boolean;
  /** Overrides the Content-Length header (a lying server); null omits it. */
  contentLength?: number | null;
  status?: number;
}

/** A fetch over a table of URL → file; counts requests and the body bytes it sent. */
export function fakeFetch(files: Record<string, ServedFile>) {
  const log = { requests: [] as Array<{ url: string; range?: string }>, bytesSent: 0 };
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    const range = new Headers(init?.headers).get('range') ?? undefined;
    log.requests.push({ url, range });
    const f = files[url];
    if (!f) return new Response('not found', { status: 404, statusText: 'Not Found' });
    if (f.status) return new Response('error', { status: f.status });
    let body = f.bytes, status = 200;
    const headers: Record<string, string> = {};
    if (f.acceptRanges) headers['accept-ranges'] = 'bytes';
    if (range && f.acceptRanges) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(range)!;
      body = f.bytes.subarray(Number(m[1]), Number(m[2]) + 1);
      status = 206;
    }
    const length = status === 200 && f.contentLength !== undefined ? f.contentLength : body.length;
    if (length !== null) headers['content-length'] = String(length);
    const chunk = f.chunk ?? 4096;
    let at = 0;
    const signal = init?.signal;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 0));
        if (signal?.aborted) { controller.error(signal.reason); return; }
        if (at >= body.length) { controller.close(); return; }
        const piece = body.slice(at, at + chunk);
        at += piece.length;
        log.bytesSent += piece.length;
        controller.enqueue(piece);
      },
    });
    return new Response(stream, { status, headers });
  }) as typeof fetch;
  return { fetch: fetchFn, log };
}

/** Rewrites a vim-webgpu file's JSON header (data section unchanged). */
export function rewriteHeader(file: Uint8Array, edit: (json: Record<string, any>) => void): Uint8Array {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const json = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  edit(json);
  const text = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + text.length + file.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(file.subarray(8 + n), 8 + text.length);
  return out;
}

/** Offset of the data section. */
export function dataStart(file: Uint8Array): number {
  return 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
}

/** A CacheStorage in memory (Node has none), with a switch that makes put() fail like a full quota. */
export class MemoryCaches {
  readonly stores = new Map<string, Map<string, { body: Uint8Array; headers: [string, string][] }>>();
  quotaExceeded = false;

  async open(name: string): Promise<Cache> {
    let store = this.stores.get(name);
    if (!store) this.stores.set(name, store = new Map());
    const self = this;
    const key = (r: RequestInfo | URL) => String(r instanceof Request ? r.url : r).split('#')[0];
    return {
      async match(r: RequestInfo | URL) {
        const e = store!.get(key(r));
        return e ? new Response(e.body.slice(), { headers: e.headers }) : undefined;
      },
      async put(r: RequestInfo | URL, res: Response) {
        const body = new Uint8Array(await res.arrayBuffer());
        if (self.quotaExceeded) throw new DOMException('quota', 'QuotaExceededError');
        store!.set(key(r), { body, headers: [...res.headers] });
      },
      async delete(r: RequestInfo | URL) { return store!.delete(key(r)); },
      async keys() { return [...store!.keys()].map((u) => new Request(u)); },
    } as unknown as Cache;
  }

  async delete(name: string): Promise<boolean> { return this.stores.delete(name); }
}
