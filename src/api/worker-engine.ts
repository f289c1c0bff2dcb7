// The Engine on top of the Web Worker (src/worker): the worker owns the GPU
// device and the weights (streamed, cached, f32/f16/int8), the page keeps a
// responsive main thread. This adapter maps the worker's protocol onto the
// Engine interface: images become what the worker takes (ImageBitmaps and
// pixels, preprocessed there; tensors for features), its progress and errors
// become the API's, and after a device loss the model is loaded again (from
// the Cache API when it was cached) before the next call.
import { DeviceLostError, InputError, LoadAbortedError } from '../errors.js';
import { evalTransform } from '../image/preprocess.js';
import { createWorkerEngine, type WorkerEngine, type WorkerImage, type WorkerStatus } from '../worker/index.js';
import type { Engine, EngineFeatures, EngineImage, EngineInfo, EngineOutput, LoadRequest, ModelSummary } from './engine.js';
import { AbortError, raceAbort, throwIfAborted, WorkerUnavailableError } from './errors.js';
import { externalToPixels, pixelsToRgb } from './pixels.js';
import type { WeightsInput } from './types.js';
import { DEFAULT_WEIGHTS } from './defaults.js';
import { defaultLabels } from '../model/labels.js';

type WorkerSource = string | URL | Blob | ArrayBuffer | ArrayBufferView;

/** How long a new worker may take to answer (it downloads and compiles its module first). */
const WORKER_START_MS = 20_000;

function workerSource(w: WeightsInput | undefined): WorkerSource {
  const input = w ?? DEFAULT_WEIGHTS;
  if (input === undefined) {
    throw new InputError('weights', 'no bundled model ships with this version yet: pass `weights` (a URL, File/Blob or ArrayBuffer)');
  }
  if (typeof input === 'string' || input instanceof URL || input instanceof Blob || input instanceof ArrayBuffer || ArrayBuffer.isView(input)) return input;
  throw new InputError('weights', 'the worker engine takes a URL, Blob/File or bytes; pass worker: false for other sources');
}

export class WorkerEngineAdapter implements Engine {
  readonly backend = 'webgpu' as const;
  private client?: WorkerEngine;
  private request?: LoadRequest;
  private summary?: ModelSummary;
  private status?: WorkerStatus;
  /** Set by a device loss: the next call loads the model again first. */
  private reloading?: Promise<void>;
  private lost = false;

  /** `connect`: how to reach the worker (tests join a WorkerEngineCore over a MessageChannel). */
  constructor(private readonly connect: () => WorkerEngine = () => createWorkerEngine(), private readonly startMs = WORKER_START_MS) {}

  async load(req: LoadRequest): Promise<ModelSummary> {
    const source = workerSource(req.weights);
    throwIfAborted(req.signal);
    this.client = this.connect();
    this.request = req;
    try {
      await this.started(this.client);
    } catch (e) {
      this.client = undefined; // it never answered: a dispose() call would wait forever too
      throw e;
    }
    try {
      await this.loadModel(source, req);
      return this.summary!;
    } catch (e) {
      await this.dispose();
      throw e;
    }
  }

  /**
   * A worker whose script fails to load never answers (comlink sees no error):
   * ask for its status first, with a deadline, so that a blocked worker fails fast.
   */
  private async started(client: WorkerEngine): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WorkerUnavailableError(
        `the engine's Web Worker did not answer within ${this.startMs / 1000} s (blocked by a Content-Security-Policy, ` +
        'or dist/worker.js was not bundled); pass worker: false to run in this thread')), this.startMs);
    });
    try {
      await Promise.race([client.status(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async loadModel(source: WorkerSource, req: LoadRequest): Promise<void> {
    // The worker streams and uploads at once ('upload'), or reads and converts a .pth first ('convert'); its fraction is overall.
    let last = 0;
    const onProgress = req.onProgress && ((p: { phase: 'convert' | 'upload'; loadedBytes: number; totalBytes: number; fraction: number }) => {
      last = Math.max(last, Math.min(0.99, p.fraction));
      req.onProgress!({ phase: p.phase === 'convert' ? 'download' : 'upload', loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, progress: last });
    });
    try {
      const info = await this.client!.load(source, {
        dtype: req.dtype, resolution: req.resolution, interpolation: req.interpolation, signal: req.signal, onProgress,
      });
      this.summary = {
        config: info.config, size: info.size, stride: info.stride, grid: info.grid, interpolation: info.interpolation, dtype: info.dtype,
        labels: defaultLabels(info.config.numClasses, info.metadata),
      };
    } catch (e) {
      if (e instanceof LoadAbortedError) throw new AbortError(req.signal?.reason);
      throw e;
    }
    this.status = await this.client!.status();
    req.onProgress?.({ phase: 'ready', loadedBytes: this.status.gpuBytes, totalBytes: this.status.gpuBytes, progress: 1 });
  }

  /** Before a call: after a device loss, the model is loaded again (the worker re-acquires the device). */
  private async ready(): Promise<WorkerEngine> {
    if (!this.client) throw new InputError('model', 'the engine is not loaded');
    if (this.lost) {
      this.reloading ??= this.loadModel(workerSource(this.request!.weights), { ...this.request!, signal: undefined, onProgress: undefined })
        .then(() => { this.lost = false; })
        .finally(() => { this.reloading = undefined; });
      await this.reloading;
    }
    return this.client;
  }

  /** Calls into the worker, noting a device loss (reported to this call) for the next one. */
  private async call<T>(work: (client: WorkerEngine) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const client = await this.ready();
    throwIfAborted(signal);
    try {
      return await raceAbort(work(client), signal);
    } catch (e) {
      if (e instanceof DeviceLostError || (e instanceof InputError && this.modelGone(e))) {
        this.lost = true;
        throw e instanceof DeviceLostError ? e : new DeviceLostError('the GPU device was lost; the next call loads the model again');
      }
      throw e;
    } finally {
      void client.status().then((s) => { this.status = s; }, () => undefined);
    }
  }

  /** The worker forgets its model when its device is lost; a call then says no model is loaded. */
  private modelGone(e: InputError): boolean {
    return (e as { file?: string }).file === 'model' && this.summary !== undefined;
  }

  /** What the worker takes for an image: pixels (orientation and gray applied here) or an ImageBitmap. */
  private async workerImage(img: Exclude<EngineImage, { kind: 'tensor' }>): Promise<{ image: WorkerImage; close(): void }> {
    if (img.kind === 'bytes') {
      const simple = (img.channels === 3 || img.channels === 4) && (img.orientation ?? 1) === 1 &&
        (img.rowBytes === undefined || img.rowBytes === img.width * img.channels);
      const px = simple ? img : { ...pixelsToRgb(img), channels: 3 as const };
      return { image: { data: px.data, width: px.width, height: px.height, channels: px.channels as 3 | 4 }, close: () => {} };
    }
    if (typeof ImageBitmap !== 'undefined' && img.source instanceof ImageBitmap) return { image: img.source, close: () => {} };
    const bitmap = await createImageBitmap(img.source as ImageBitmapSource, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    return { image: bitmap, close: () => bitmap.close() };
  }

  private tensor(img: EngineImage): Float32Array {
    if (img.kind === 'tensor') return img.data;
    const px = img.kind === 'external' ? externalToPixels(img) : img;
    return evalTransform(pixelsToRgb(px), this.summary!.size);
  }

  async infer(images: EngineImage[], signal?: AbortSignal): Promise<EngineOutput> {
    const { size, stride, config } = this.summary!;
    if (images.every((i) => i.kind === 'tensor')) {
      const batch = new Float32Array(images.length * 3 * size * size);
      images.forEach((img, b) => batch.set((img as { data: Float32Array }).data, b * 3 * size * size));
      return this.call((c) => c.inferTimed(batch, images.length, size, size, { transfer: true, stride }), signal);
    }
    // Images go one at a time: the GPU time is the sum of their passes, if every one was measured.
    const out = new Float32Array(images.length * config.numClasses);
    let gpuMs: number | undefined = 0;
    for (let b = 0; b < images.length; b++) {
      const img = images[b];
      const r = img.kind === 'tensor'
        ? await this.call((c) => c.inferTimed(img.data, 1, size, size, { stride }), signal)
        : await this.withImage(img, (wi) => this.call((c) => c.inferImageTimed(wi, { transfer: false }), signal));
      out.set(r.logits, b * config.numClasses);
      gpuMs = gpuMs !== undefined && r.gpuMs !== undefined ? gpuMs + r.gpuMs : undefined;
    }
    return { logits: out, gpuMs };
  }

  private async withImage<T>(img: Exclude<EngineImage, { kind: 'tensor' }>, use: (wi: WorkerImage) => Promise<T>): Promise<T> {
    const { image, close } = await this.workerImage(img);
    try {
      return await use(image);
    } finally {
      close();
    }
  }

  async features(image: EngineImage, signal?: AbortSignal): Promise<EngineFeatures> {
    const { size, stride } = this.summary!;
    // The worker takes tensors for features: the eval transform runs here (bit-identical on every path).
    const input = this.tensor(image);
    const f = await this.call((c) => c.features(input, 1, size, size, { stride }), signal);
    return { logits: f.logits, tokens: f.tokens, geometry: f.geometry, gpuMs: f.gpuMs };
  }

  info(): EngineInfo {
    return { backend: 'webgpu', adapter: this.status?.adapter ?? null, memoryBytes: this.status?.gpuBytes ?? 0 };
  }

  async dispose(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.status = undefined;
    await client?.dispose().catch(() => undefined);
  }
}
