// A persistent cache of vim-webgpu files in the browser's Cache API (pages and
// workers alike), so a model is downloaded (and a .pth converted) once.
//
// Two entries per model: the file itself under its URL (or a synthetic URL for
// converted and local files), and a small JSON record under a synthetic URL
// holding the file's sha256, written only after a load has verified the file.
// A data entry without its record is garbage from an interrupted load and is
// ignored. On a hit the loader recomputes the hash while uploading and compares
// it with the record: a corrupt entry is deleted and the file downloaded again.
// Storage errors (quota, private browsing) are never fatal: the load goes on in
// memory with a console warning.

export const DEFAULT_CACHE_NAME = 'vim-webgpu-weights-v1';
const SYNTHETIC = 'https://vim-webgpu.invalid/';
const RECORD = `${SYNTHETIC}record/`;

export interface CachedWeights {
  /** What the user loaded: a URL, or 'file:<cacheKey>' for local files. */
  source: string;
  /** The vim-webgpu file's dtype (int8, f16, f32). */
  dtype: string;
  /** sha256 of the cached vim-webgpu file. */
  sha256: string;
  bytes: number;
  /** The source was converted on the way in (.pth or plain safetensors). */
  converted: boolean;
  storedAt: number;
}

/** The Cache API key of a file: its URL as-is, unless it was converted (then one key per dtype). */
export function cacheKey(source: string, converted: boolean, dtype: string): string {
  if (!converted && /^https?:/.test(source)) return source;
  return `${SYNTHETIC}data/${dtype}/${encodeURIComponent(source)}`;
}

const recordKey = (dataKey: string) => RECORD + encodeURIComponent(dataKey);

function warn(what: string, e: unknown): void {
  console.warn(`vim-webgpu: ${what}; the model stays in memory only (${(e as Error)?.message ?? String(e)})`);
}

export class WeightCache {
  private constructor(private readonly cache: Cache) {}

  /** The cache, or undefined where there is no Cache API (Node, insecure pages) or it is refused. */
  static async open(name = DEFAULT_CACHE_NAME): Promise<WeightCache | undefined> {
    const storage = (globalThis as { caches?: CacheStorage }).caches;
    if (!storage) return undefined;
    try {
      return new WeightCache(await storage.open(name));
    } catch (e) {
      warn('the weight cache cannot be opened', e);
      return undefined;
    }
  }

  /** A verified entry: its record and a fresh body stream (the caller re-checks the hash). */
  async get(key: string): Promise<{ record: CachedWeights; body: ReadableStream<Uint8Array>; size?: number } | undefined> {
    try {
      const [meta, data] = await Promise.all([this.cache.match(recordKey(key)), this.cache.match(key)]);
      if (!meta || !data?.body) return undefined;
      const record = await meta.json() as CachedWeights;
      return { record, body: data.body, size: Number(data.headers.get('content-length') ?? NaN) || undefined };
    } catch (e) {
      warn('reading the weight cache failed', e);
      return undefined;
    }
  }

  /**
   * Starts storing a body (a stream being consumed elsewhere through tee(), or a
   * Blob). Resolves true once stored, false (with a warning) if storage failed.
   * `cancelled`: the signal that stops the download feeding the body; once it has
   * fired, a failed put is that cancellation (Chromium rejects it with a TypeError,
   * "Cache.put() encountered a network error", not an AbortError) and no warning.
   */
  async put(key: string, body: ReadableStream<Uint8Array> | Blob, size?: number, cancelled?: AbortSignal): Promise<boolean> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (size !== undefined) headers['content-length'] = String(size);
    try {
      await this.cache.put(key, new Response(body, { headers }));
      return true;
    } catch (e) {
      if (body instanceof ReadableStream) await body.cancel().catch(() => undefined);
      await this.cache.delete(key).catch(() => undefined);
      if (!cancelled?.aborted && (e as Error)?.name !== 'AbortError') warn('the weights could not be cached', e);
      return false;
    }
  }

  /** Marks a stored file as verified; until then get() ignores it. */
  async commit(key: string, record: CachedWeights): Promise<void> {
    try {
      await this.cache.put(recordKey(key), new Response(JSON.stringify(record), { headers: { 'content-type': 'application/json' } }));
    } catch (e) {
      await this.delete(key);
      warn('the weights could not be cached', e);
    }
  }

  async delete(key: string): Promise<void> {
    await Promise.all([this.cache.delete(key), this.cache.delete(recordKey(key))]).catch(() => undefined);
  }

  async list(): Promise<Array<CachedWeights & { key: string }>> {
    const out: Array<CachedWeights & { key: string }> = [];
    for (const req of await this.cache.keys()) {
      if (!req.url.startsWith(RECORD)) continue;
      const r = await this.cache.match(req);
      if (r) out.push({ ...(await r.json() as CachedWeights), key: decodeURIComponent(req.url.slice(RECORD.length)) });
    }
    return out.sort((a, b) => a.storedAt - b.storedAt);
  }
}

/** Every verified model in the cache. Empty where there is no Cache API. */
export async function listCached(name = DEFAULT_CACHE_NAME): Promise<CachedWeights[]> {
  const cache = await WeightCache.open(name);
  return cache ? (await cache.list()).map(({ key: _key, ...r }) => r) : [];
}

/**
 * Deletes the cached files of a source (every dtype converted from it), or the
 * whole cache without an argument. Returns how many models were removed.
 */
export async function deleteCached(source?: string, name = DEFAULT_CACHE_NAME): Promise<number> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return 0;
  if (source === undefined) {
    const n = (await listCached(name)).length;
    await storage.delete(name);
    return n;
  }
  const cache = await WeightCache.open(name);
  if (!cache) return 0;
  const hits = (await cache.list()).filter((r) => r.source === source);
  for (const r of hits) await cache.delete(r.key);
  return hits.length;
}
