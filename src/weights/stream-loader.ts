// The streaming loader's entry: any weight source → weights on the GPU.
//   - a vim-webgpu file (URL, Blob/File, bytes) streams straight into GPU
//     buffers, tensor by tensor, as it arrives (stream-loader-upload.ts);
//   - a .pth or plain safetensors file is converted on the way in (reading only
//     the model's tensors; over HTTP Range requests where the server allows)
//     and the converted file is uploaded from memory;
//   - with the Cache API (pages and workers), files are cached after a verified
//     load and re-verified on every read (cache.ts);
//   - in Node, a file path (or file: URL) is read from disk as it streams.
// The same load fills GPU buffers or, for the CPU engine, host arrays
// (weight-target.ts). Every failure is a typed error, and leaves no buffer of the load behind.
import { LoadAbortedError, VimError, WeightFetchError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import type { GpuWeights } from '../model/gpu-weights.js';
import { localFilePath, openLocalFile } from '../platform/node.js';
import { WeightCache, cacheKey, type CachedWeights } from './cache.js';
import { convertWeights } from './convert.js';
import { DEFAULT_DTYPE } from './quantize.js';
import { bufferStream, readableStream, type FetchFn } from './stream-loader-source.js';
import { typedLoadError, uploadVimFile, type VimFileUploadOptions, type LoadedWeights } from './stream-loader-upload.js';
import { openSource, isUrl, sourceName, type WeightSource } from './stream-loader-open.js';
import { ProgressTracker, type ProgressCallback } from './stream-loader-progress.js';
import { gpuTarget, type WeightTarget } from './weight-target.js';
import type { WeightDType } from './weight-dtype.js';

export type { WeightSource } from './stream-loader-open.js';
export type { LoadProgress, ProgressCallback } from './stream-loader-progress.js';
export type { LoadedWeights } from './stream-loader-upload.js';

export interface LoadWeightsOptions<W = GpuWeights> {
  /** Storage of the big matrices when the source must be converted (default DEFAULT_DTYPE); a vim-webgpu file keeps its own. */
  dtype?: WeightDType;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Expected sha256 (hex) of a vim-webgpu source file (what `vim-webgpu convert` prints). */
  sha256?: string;
  /** The Cache API (default: used where available), a specific cache, or false. */
  cache?: boolean | WeightCache;
  /** Caches a Blob/bytes source under this key (e.g. a File's name, size and lastModified). */
  cacheKey?: string;
  /** Replaces globalThis.fetch (tests, custom transports). */
  fetch?: FetchFn;
  /** Chunk size when streaming from memory (default 1 MiB). */
  chunkSize?: number;
  /** See VimFileUploadOptions.onAllocated: start building the forward plan while the weights stream in. */
  onAllocated?: VimFileUploadOptions<W>['onAllocated'];
  /** Keep the vim-webgpu file's bytes in LoadResult.file (to upload again after a device loss). */
  keep?: boolean;
}

export interface LoadResult<W = GpuWeights> extends LoadedWeights<W> {
  source: string;
  fromCache: boolean;
  /** The source was a .pth or plain safetensors file, converted to `dtype` on the way. */
  converted: boolean;
}

export { DEFAULT_DTYPE };

/** Weights onto the GPU of `ctx`. */
export function loadWeights(ctx: GpuContext, source: WeightSource, o: LoadWeightsOptions = {}): Promise<LoadResult> {
  return loadWeightsInto(gpuTarget(ctx), source, o);
}

/** Weights into any target: GPU buffers or host arrays (weight-target.ts). */
export async function loadWeightsInto<W>(target: WeightTarget<W>, given: WeightSource, o: LoadWeightsOptions<W> = {}): Promise<LoadResult<W>> {
  const path = await localFilePath(given);
  const source = path === undefined ? given
    : await openLocalFile(path, (detail) => new WeightFetchError(path, undefined, `cannot read the weights file: ${detail}`));
  const name = sourceName(source);
  const dtype = o.dtype ?? DEFAULT_DTYPE;
  const progress = new ProgressTracker(o.onProgress);
  const cache = o.cache === false ? undefined : o.cache instanceof WeightCache ? o.cache : await WeightCache.open();
  const cacheSource = isUrl(source) ? name : o.cacheKey !== undefined ? `file:${o.cacheKey}` : undefined;
  try {
    if (cache && cacheSource) {
      const hit = await fromCache(target, cache, cacheSource, dtype, o, progress);
      if (hit) return hit;
    }
    return await fromSource(target, source, name, dtype, o, progress, cache, cacheSource);
  } catch (e) {
    throw typedLoadError(e, name, o.signal);
  }
}

async function fromCache<W>(target: WeightTarget<W>, cache: WeightCache, src: string, dtype: WeightDType, o: LoadWeightsOptions<W>,
  progress: ProgressTracker): Promise<LoadResult<W> | undefined> {
  for (const converted of [false, true]) {
    const key = cacheKey(src, converted, dtype);
    const hit = await cache.get(key);
    if (!hit) continue;
    if (!converted && o.sha256 && hit.record.sha256 !== o.sha256.toLowerCase()) {
      await hit.body.cancel().catch(() => undefined);
      continue;  // another version of the file: download the one asked for
    }
    try {
      const loaded = await uploadVimFile(target, readableStream(src, hit.body, hit.size), { ...streamOptions(o, progress), sha256: hit.record.sha256 });
      return { ...loaded, source: src, fromCache: true, converted };
    } catch (e) {
      if (o.signal?.aborted) throw new LoadAbortedError(src);
      if (!(e instanceof VimError)) throw e;
      // A corrupt or unreadable entry: drop it and fetch the file again.
      console.warn(`vim-webgpu: cached weights for ${src} failed verification (${e.message}); downloading again`);
      await cache.delete(key);
    }
  }
  return undefined;
}

function streamOptions<W>(o: LoadWeightsOptions<W>, progress: ProgressTracker): VimFileUploadOptions<W> {
  return { signal: o.signal, progress, onAllocated: o.onAllocated, keep: o.keep };
}

async function fromSource<W>(target: WeightTarget<W>, source: WeightSource, name: string, dtype: WeightDType, o: LoadWeightsOptions<W>,
  progress: ProgressTracker, cache: WeightCache | undefined, cacheSource: string | undefined): Promise<LoadResult<W>> {
  // Aborting this also stops a download that only feeds the cache.
  const transfer = new AbortController();
  const forward = () => transfer.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', forward);
  try {
    const opened = await openSource(source, { fetch: o.fetch, signal: transfer.signal, chunkSize: o.chunkSize });
    const record = (loaded: LoadedWeights<W>, converted: boolean): CachedWeights => ({
      source: cacheSource!, dtype: loaded.header.target, sha256: loaded.sha256, bytes: loaded.fileBytes, converted, storedAt: Date.now(),
    });
    if (opened.kind === 'vim-file') {
      const key = cacheSource && cacheKey(cacheSource, false, dtype);
      let body = opened.body, storing: Promise<boolean> | undefined;
      if (cache && key) {
        if (body) {
          const [a, b] = body.tee();
          body = a;
          storing = cache.put(key, b, opened.size, transfer.signal);
        } else if (source instanceof Blob || ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
          storing = Promise.resolve(true);  // stored after the load, from memory
        }
      }
      const stream = body ? readableStream(name, body, opened.size) : opened.stream();
      let loaded: LoadedWeights<W>;
      try {
        loaded = await uploadVimFile(target, stream, { ...streamOptions(o, progress), sha256: o.sha256 });
      } catch (e) {
        transfer.abort();
        if (storing && key) void storing.then(() => cache!.delete(key));
        throw e;
      }
      if (cache && key && storing) {
        const stored = opened.body ? await storing : await cache.put(key, new Blob([memoryBytes(source)]), loaded.fileBytes);
        if (stored) await cache.commit(key, record(loaded, false));
      }
      return { ...loaded, source: name, fromCache: false, converted: false };
    }
    const random = await opened.random();
    const file = await convertWeights(random, {
      dtype, signal: o.signal, onProgress: (read, total) => progress.converting(read, total),
    });
    const loaded = await uploadVimFile(target, bufferStream(name, [file.header, ...file.parts]), streamOptions(o, progress));
    if (cache && cacheSource) {
      const key = cacheKey(cacheSource, true, dtype);
      if (await cache.put(key, new Blob([file.header, ...file.parts] as BlobPart[]), file.byteLength)) await cache.commit(key, record(loaded, true));
    }
    return { ...loaded, source: name, fromCache: false, converted: true };
  } finally {
    o.signal?.removeEventListener('abort', forward);
  }
}

function memoryBytes(source: WeightSource): BlobPart {
  if (source instanceof Blob) return source;
  if (source instanceof ArrayBuffer) return source;
  const v = source as ArrayBufferView;
  return new Uint8Array(v.buffer as ArrayBuffer, v.byteOffset, v.byteLength);
}
