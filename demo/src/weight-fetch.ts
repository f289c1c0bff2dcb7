// Downloads a weight file with byte-level progress and keeps it in Cache Storage,
// so the second visit loads the model with no network at all. Used by the interim
// engine; the public API is expected to take this over (it owns caching there).
const CACHE_NAME = 'vim-webgpu-demo-weights-v1';

export interface FetchProgress {
  loadedBytes: number;
  totalBytes: number;
  /** True when the bytes came from Cache Storage rather than the network. */
  cached: boolean;
}

async function openCache(): Promise<Cache | undefined> {
  // Cache Storage exists only in secure contexts (https, localhost, 127.0.0.1).
  if (typeof caches === 'undefined') return undefined;
  try {
    return await caches.open(CACHE_NAME);
  } catch {
    return undefined; // e.g. storage disabled by the user: just download every time
  }
}

/** Reads a response body chunk by chunk, reporting bytes as they arrive. */
async function readBody(res: Response, total: number, cached: boolean, onProgress: (p: FetchProgress) => void,
  signal?: AbortSignal): Promise<Blob> {
  if (!res.body) return res.blob();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress({ loadedBytes: loaded, totalBytes: Math.max(total, loaded), cached });
  }
  return new Blob(chunks as BlobPart[]);
}

/** The file at `url` as a Blob, from the cache when present, else downloaded and cached. */
export async function fetchWeights(url: string, onProgress: (p: FetchProgress) => void, signal?: AbortSignal): Promise<Blob> {
  const cache = await openCache();
  const hit = await cache?.match(url);
  if (hit) {
    const total = Number(hit.headers.get('content-length')) || 0;
    return readBody(hit, total, true, onProgress, signal);
  }
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`${url}: download failed (HTTP ${res.status} ${res.statusText})`);
  // Content-Length is the encoded size; weight files are served uncompressed, so it
  // is also the byte count (when it is not, the bar simply finishes early).
  const total = Number(res.headers.get('content-length')) || 0;
  const blob = await readBody(res, total, false, onProgress, signal);
  await cache?.put(url, new Response(blob, { headers: { 'content-length': String(blob.size) } })).catch(() => undefined);
  return blob;
}
