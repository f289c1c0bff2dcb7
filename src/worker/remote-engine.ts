// The page side of the worker engine: the Engine interface over comlink. It
// only prepares arguments for the trip: relative weight URLs resolved against
// the page (a worker would resolve them against its own script), AbortSignals
// turned into abort(callId) calls, progress callbacks into comlink proxies, and
// images the worker cannot receive (elements, canvases, video frames) into
// ImageBitmaps, which are transferred. Batches go whole, in one message.
import { proxy, transfer, type Remote } from 'comlink';
import { raceAbort, throwIfAborted } from '../api/errors.js';
import type { ImageInput, WeightsInput } from '../api/types.js';
import type { Engine, EngineInfo, InferOptions, InferResult, LoadRequest, ModelSummary } from '../engine/engine.js';
import { InputError } from '../errors.js';
import { externalSize } from '../engine/inputs.js';
import type { CachedWeights } from '../weights/cache.js';
import type { WireImage, WorkerEngineApi } from './protocol.js';

let nextCallId = 1;

function isA(value: unknown, className: string): boolean {
  const cls = (globalThis as Record<string, unknown>)[className];
  return typeof cls === 'function' && value instanceof (cls as new () => unknown);
}

/** Weights as they can travel: an absolute URL, a Blob/File, or an ArrayBuffer. */
function wireWeights(w: WeightsInput): string | Blob | ArrayBuffer {
  if (typeof w === 'string' || w instanceof URL) return new URL(String(w), (globalThis as { location?: Location }).location?.href).href;
  if (isA(w, 'Blob') || w instanceof ArrayBuffer) return w as Blob | ArrayBuffer;
  if (ArrayBuffer.isView(w)) return w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer;
  throw new InputError('weights', 'the worker engine takes a URL, Blob/File or bytes; pass worker: false for other sources');
}

/** Sources a worker cannot receive, made into ImageBitmaps here (what copyExternalImageToTexture would read). */
function needsBitmap(image: ImageInput): boolean {
  return ['HTMLImageElement', 'HTMLVideoElement', 'HTMLCanvasElement', 'OffscreenCanvas', 'VideoFrame'].some((c) => isA(image, c));
}

/** Runs `work` with a call id that `signal` aborts in the worker. */
async function cancellable<T>(remote: Remote<WorkerEngineApi>, signal: AbortSignal | undefined, work: (callId: number) => Promise<T>): Promise<T> {
  throwIfAborted(signal);
  const callId = nextCallId++;
  const onAbort = () => { void remote.abort(callId); };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await raceAbort(work(callId), signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export class RemoteEngine implements Engine {
  readonly backend = 'webgpu' as const;

  /** `started`: settles once the worker answers (rejects with WorkerUnavailableError when it cannot start). */
  constructor(readonly remote: Remote<WorkerEngineApi>, private readonly started: Promise<void>, private readonly close: () => void) {}

  async load(req: LoadRequest): Promise<ModelSummary> {
    await this.started;
    const { signal, onProgress, weights, ...rest } = req;
    const wire = wireWeights(weights);
    return cancellable(this.remote, signal, (callId) => this.remote.load({ ...rest, weights: wire, callId }, onProgress && proxy(onProgress)));
  }

  async infer(images: readonly ImageInput[], options: InferOptions = {}): Promise<InferResult> {
    const { signal, ...rest } = options;
    const made: ImageBitmap[] = [];
    try {
      const wire = await Promise.all(images.map(async (image): Promise<WireImage> => {
        if (!needsBitmap(image)) return image as WireImage;
        externalSize(image); // an <img> not loaded yet, or broken, says so here
        const bitmap = await createImageBitmap(image as ImageBitmapSource, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
        made.push(bitmap);
        return bitmap;
      }));
      return await this.guard(cancellable(this.remote, signal, (callId) => this.remote.infer(transfer(wire, made), { ...rest, callId })));
    } finally {
      for (const b of made) b.close(); // a no-op for those the worker received
    }
  }

  info(): Promise<EngineInfo> {
    return this.guard(this.remote.info());
  }

  /** Weight files in the worker's cache (Cache API). */
  listCached(): Promise<CachedWeights[]> { return this.guard(this.remote.listCached()); }
  deleteCached(source?: string): Promise<number> { return this.guard(this.remote.deleteCached(source)); }

  /** A call's answer, or the start's failure as soon as the worker cannot start (it would never answer). */
  private guard<T>(call: Promise<T>): Promise<T> {
    return Promise.race([call, this.started.then(() => call)]);
  }

  async dispose(): Promise<void> {
    try {
      await this.started.then(() => this.remote.dispose(), () => undefined);
    } finally {
      this.close();
    }
  }
}
