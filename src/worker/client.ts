// The page side of the worker engine: createWorkerEngine() starts the module
// worker (worker.ts, which owns the GPU device) and returns a typed handle.
// Arguments are prepared for the trip: relative URLs are resolved against the
// page (a worker would resolve them against its own script), AbortSignals
// become abort(loadId) calls, progress callbacks become comlink proxies, and
// images and tensors are transferred rather than copied where asked.
import { proxy, transfer, wrap, type Endpoint, type Remote } from 'comlink';
import { LoadAbortedError } from '../errors.js';
import { WorkerUnavailableError } from '../api/errors.js';
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
  /**
   * The worker script's URL, for bundlers that do not bundle the package's
   * `new Worker(new URL('./worker.js', import.meta.url))` (esbuild, Rollup without
   * a plugin): bundle `vim-webgpu/worker` as an entry of its own and pass its URL.
   * Default: the worker.js that webpack 5 or Vite bundled beside this module.
   */
  workerUrl?: string | URL;
}

let nextLoadId = 1;

/** An image marked for transfer where asked (ImageBitmaps by default). */
function sendImage(image: WorkerImage, o?: TransferOption): WorkerImage {
  const isBitmap = typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap;
  if (isBitmap && o?.transfer !== false) return transfer(image, [image as ImageBitmap]);
  if (!isBitmap && o?.transfer) return transfer(image, [(image as { data: Uint8Array | Uint8ClampedArray }).data.buffer as ArrayBuffer]);
  return image;
}

const STARTUP_HINT = 'a bundler that does not rewrite `new URL(\'./worker.js\', import.meta.url)` (esbuild, Rollup without a plugin) leaves ' +
  'the worker out: bundle vim-webgpu/worker as an entry of its own and pass its URL as `workerUrl` (README: Bundlers); ' +
  'a Content-Security-Policy must allow the script (worker-src); or pass worker: false to run in this thread';

/**
 * Starts the module worker. A script that fails to load (404, blocked, or an
 * error while it is evaluated) fires `error` on the Worker, and comlink would
 * wait forever for an answer: `failed` rejects at once with WorkerUnavailableError
 * instead. After the worker's first message, later error events are not startup failures.
 */
function startWorker(workerUrl: string | URL | undefined): { worker: Worker; failed: Promise<never> } {
  const where = workerUrl === undefined ? 'vim-webgpu\'s worker.js' : `'${String(workerUrl)}'`;
  let worker: Worker;
  try {
    // The default stays one literal `new Worker(new URL(…, import.meta.url), {…})`: the form bundlers recognise.
    worker = workerUrl === undefined
      ? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'vim-webgpu' })
      : new Worker(workerUrl, { type: 'module', name: 'vim-webgpu' });
  } catch (e) {
    throw new WorkerUnavailableError(`the engine's Web Worker (${where}) could not be created: ${(e as Error)?.message ?? e}; ${STARTUP_HINT}`);
  }
  let reject!: (e: Error) => void;
  const failed = new Promise<never>((_, r) => { reject = r; });
  failed.catch(() => undefined); // only calls in flight report it
  const onError = (event: Event) => {
    const detail = (event as ErrorEvent).message ? `: ${(event as ErrorEvent).message}` : '';
    reject(new WorkerUnavailableError(`the engine's Web Worker script (${where}) failed to load${detail}; ${STARTUP_HINT}`));
    worker.terminate();
  };
  const onMessage = () => {
    worker.removeEventListener('error', onError);
    worker.removeEventListener('message', onMessage);
  };
  worker.addEventListener('error', onError);
  worker.addEventListener('message', onMessage);
  return { worker, failed };
}

export function createWorkerEngine(options: WorkerEngineOptions = {}): WorkerEngine {
  installErrorTransfer();
  const started = options.endpoint ? undefined : startWorker(options.workerUrl);
  const endpoint = options.endpoint ?? started!.worker;
  const remote = wrap<WorkerEngineApi>(endpoint);
  /** A call, or WorkerUnavailableError as soon as the worker's script fails to load. */
  const guard = <T>(p: Promise<T>): Promise<T> => (started ? Promise.race([p, started.failed]) : p);
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
        return await guard(remote.load(payload, { ...rest, loadId }, onProgress && proxy(onProgress)));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    infer: (input, batch, h, w, o) => guard(remote.infer(tensor(input, o), batch, h, w, o?.stride)),
    inferImage: (image, o) => guard(remote.inferImage(sendImage(image, o))),
    inferTimed: (input, batch, h, w, o) => guard(remote.inferTimed(tensor(input, o), batch, h, w, o?.stride)),
    inferImageTimed: (image, o) => guard(remote.inferImageTimed(sendImage(image, o))),
    features: (input, batch, h, w, o) => guard(remote.features(tensor(input, o), batch, h, w, o?.stride)),
    status: () => guard(remote.status()),
    listCached: () => guard(remote.listCached()),
    deleteCached: (source) => guard(remote.deleteCached(source)),
    async dispose() {
      try {
        // A worker that never started has nothing to free (and would never answer).
        await guard(remote.dispose()).catch((e) => { if (!(e instanceof WorkerUnavailableError)) throw e; });
      } finally {
        endpoint.terminate?.();
        (endpoint as { close?: () => void }).close?.();
      }
    },
  };
}
