// The page side of the worker engine: createWorkerEngine() starts the module
// worker (worker.ts, which owns the GPU device) and returns a typed handle.
// Arguments are prepared for the trip: relative URLs are resolved against the
// page (a worker would resolve them against its own script), AbortSignals
// become abort(loadId) calls, progress callbacks become comlink proxies, and
// images and tensors are transferred rather than copied where asked.
import { proxy, transfer, wrap, type Endpoint, type Remote } from 'comlink';
import { LoadAbortedError } from '../errors.js';
import { installErrorTransfer } from './wire-errors.js';
import type {
  CachedWeights, LoadProgress, WorkerEngineApi, WorkerFeatures, WorkerImage, WorkerInference, WorkerLoadOptions, WorkerModelInfo, WorkerStatus,
} from './protocol.js';

export type * from './protocol.js';

export interface ClientLoadOptions extends Omit<WorkerLoadOptions, 'loadId'> {
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
}

export interface TransferOption {
  /**
   * Hand the buffer (or ImageBitmap) to the worker instead of copying it; the
   * caller's copy becomes unusable. Default: true for ImageBitmaps, false for arrays.
   */
  transfer?: boolean;
}

export interface WorkerEngine {
  /** Streams weights into the worker's GPU (URL, Blob/File or bytes); calls made meanwhile wait for it. */
  load(source: string | URL | Blob | ArrayBuffer | ArrayBufferView, options?: ClientLoadOptions): Promise<WorkerModelInfo>;
  /** Logits (batch × classes) of preprocessed images (batch, 3, height, width). */
  infer(input: Float32Array, batch: number, height: number, width: number, options?: TransferOption & { stride?: number }): Promise<Float32Array>;
  /** Logits of one image, preprocessed in the worker with the official eval transform. */
  inferImage(image: WorkerImage, options?: TransferOption): Promise<Float32Array>;
  /** infer() and inferImage() with the forward pass's GPU time beside the logits, where the device measures it. */
  inferTimed(input: Float32Array, batch: number, height: number, width: number, options?: TransferOption & { stride?: number }): Promise<WorkerInference>;
  inferImageTimed(image: WorkerImage, options?: TransferOption): Promise<WorkerInference>;
  features(input: Float32Array, batch: number, height: number, width: number, options?: TransferOption & { stride?: number }): Promise<WorkerFeatures>;
  status(): Promise<WorkerStatus>;
  listCached(): Promise<CachedWeights[]>;
  deleteCached(source?: string): Promise<number>;
  /** Frees the GPU memory in the worker, then ends the worker. */
  dispose(): Promise<void>;
  /** The comlink proxy, for anything not wrapped here. */
  readonly remote: Remote<WorkerEngineApi>;
}

export interface WorkerEngineOptions {
  /** An endpoint to use instead of starting worker.ts (tests: a MessagePort; or a Worker you started). */
  endpoint?: Endpoint & { terminate?: () => void };
}

let nextLoadId = 1;

/** An image marked for transfer where asked (ImageBitmaps by default). */
function sendImage(image: WorkerImage, o?: TransferOption): WorkerImage {
  const isBitmap = typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap;
  if (isBitmap && o?.transfer !== false) return transfer(image, [image as ImageBitmap]);
  if (!isBitmap && o?.transfer) return transfer(image, [(image as { data: Uint8Array | Uint8ClampedArray }).data.buffer as ArrayBuffer]);
  return image;
}

export function createWorkerEngine(options: WorkerEngineOptions = {}): WorkerEngine {
  installErrorTransfer();
  const endpoint = options.endpoint ?? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'vim-webgpu' });
  const remote = wrap<WorkerEngineApi>(endpoint);
  const base = (globalThis as { location?: Location }).location?.href;
  const tensor = (a: Float32Array, o?: TransferOption) => o?.transfer ? transfer(a, [a.buffer]) : a;

  return {
    remote,
    async load(source, o = {}) {
      const { signal, onProgress, ...rest } = o;
      const name = typeof source === 'string' || source instanceof URL ? new URL(String(source), base).href : undefined;
      if (signal?.aborted) throw new LoadAbortedError(name ?? 'weights');
      const loadId = nextLoadId++;
      const onAbort = () => { void remote.abort(loadId); };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const payload = name ?? (ArrayBuffer.isView(source)
          ? source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength) as ArrayBuffer
          : source as Blob | ArrayBuffer);
        return await remote.load(payload, { ...rest, loadId }, onProgress && proxy(onProgress));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    infer: (input, batch, h, w, o) => remote.infer(tensor(input, o), batch, h, w, o?.stride),
    inferImage: (image, o) => remote.inferImage(sendImage(image, o)),
    inferTimed: (input, batch, h, w, o) => remote.inferTimed(tensor(input, o), batch, h, w, o?.stride),
    inferImageTimed: (image, o) => remote.inferImageTimed(sendImage(image, o)),
    features: (input, batch, h, w, o) => remote.features(tensor(input, o), batch, h, w, o?.stride),
    status: () => remote.status(),
    listCached: () => remote.listCached(),
    deleteCached: (source) => remote.deleteCached(source),
    async dispose() {
      try {
        await remote.dispose();
      } finally {
        endpoint.terminate?.();
        (endpoint as { close?: () => void }).close?.();
      }
    },
  };
}
