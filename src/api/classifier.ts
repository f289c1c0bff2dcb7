// createClassifier: picks and loads an engine (src/engine: WebGPU in this
// thread or in the Web Worker, or the CPU reference), then turns its answers
// into what people want — labelled top-k probabilities and backbone features —
// and owns the life cycle (calls in flight, dispose).
import { DisposedError, GpuUnavailableError, InputError } from '../errors.js';
import { defaultLabels } from '../model/labels.js';
import { WEIGHT_DTYPES } from '../weights/weight-dtype.js';
import { CpuEngine } from '../engine/cpu-engine.js';
import type { Engine, EngineInfo, InferOptions, InferResult, LoadRequest, ModelSummary } from '../engine/engine.js';
import { WebGpuEngine } from '../engine/webgpu-engine.js';
import { isNode } from '../platform/node.js';
import { createWorkerEngine } from '../worker/client.js';
import { DEFAULT_DTYPE, DEFAULT_INTERPOLATION, DEFAULT_MAX_BATCH, DEFAULT_TOP_K, DEFAULT_WEIGHTS, DEFAULT_WORKER_IN_PAGES } from './defaults.js';
import { throwIfAborted, WorkerUnavailableError } from './errors.js';
import type {
  Classifier, ClassifierInfo, ClassifierOptions, ClassifyOptions, ImageFeatures, ImageInput, InferenceTiming, Prediction,
} from './types.js';

function checkOptions(o: ClassifierOptions): void {
  if (o.interpolation !== undefined && o.interpolation !== 'official' && o.interpolation !== 'corrected') {
    throw new InputError('options', `interpolation must be 'official' or 'corrected', got '${String(o.interpolation)}'`);
  }
  if (o.dtype !== undefined && !WEIGHT_DTYPES.includes(o.dtype)) {
    throw new InputError('options', `dtype must be 'f32', 'f16' or 'int8', got '${String(o.dtype)}'`);
  }
  if (typeof o.device === 'string' && o.device !== 'webgpu' && o.device !== 'cpu') {
    throw new InputError('options', `device must be 'webgpu', 'cpu' or a GPUDevice, got '${o.device}'`);
  }
  if (o.maxBatch !== undefined && !(Number.isInteger(o.maxBatch) && o.maxBatch >= 1)) {
    throw new InputError('options', `maxBatch must be a positive integer, got ${o.maxBatch}`);
  }
  if (o.worker && (o.device === 'cpu' || typeof o.device === 'object')) {
    throw new InputError('options', 'worker: true runs WebGPU in the worker on its own device; it cannot use device: \'cpu\' or a GPUDevice of this thread');
  }
}

/** A page's main thread with Web Workers (not Node, not inside a worker). */
function inBrowserPage(): boolean {
  const g = globalThis as { window?: unknown; document?: unknown; Worker?: unknown };
  return !isNode() && typeof g.window === 'object' && typeof g.document === 'object' && typeof g.Worker === 'function';
}

/** The worker engine by default in pages (keeps the page responsive); in-thread in Node and workers. */
function wantsWorker(o: ClassifierOptions): boolean {
  if (o.worker !== undefined) return o.worker;
  if (o.workerUrl !== undefined) return true;
  if (o.device === 'cpu' || typeof o.device === 'object' || o.gpu) return false;
  const w = o.weights ?? DEFAULT_WEIGHTS;
  const sendable = typeof w === 'string' || w instanceof URL || (typeof Blob !== 'undefined' && w instanceof Blob) ||
    w instanceof ArrayBuffer || ArrayBuffer.isView(w);
  return DEFAULT_WORKER_IN_PAGES && inBrowserPage() && sendable;
}

function loadRequest(o: ClassifierOptions): LoadRequest {
  const weights = o.weights ?? DEFAULT_WEIGHTS;
  if (weights === undefined) {
    throw new InputError('weights', 'no bundled model ships with this version: pass `weights` — a URL, File/Blob, ArrayBuffer ' +
      '(or, in Node, a file path) of an official hustvl/Vim .pth checkpoint, a .safetensors state dict or a vim-webgpu file');
  }
  return {
    weights, dtype: o.dtype ?? DEFAULT_DTYPE, resolution: o.resolution, interpolation: o.interpolation ?? DEFAULT_INTERPOLATION,
    maxBatch: o.maxBatch ?? DEFAULT_MAX_BATCH, onProgress: o.onProgress, signal: o.signal,
  };
}

async function loaded(engine: Engine, request: LoadRequest): Promise<{ engine: Engine; summary: ModelSummary }> {
  try {
    return { engine, summary: await engine.load(request) };
  } catch (e) {
    await engine.dispose().catch(() => undefined);
    throw e;
  }
}

async function loadEngine(o: ClassifierOptions): Promise<{ engine: Engine; summary: ModelSummary }> {
  const request = loadRequest(o);
  if (o.device === 'cpu') return loaded(new CpuEngine(), request);
  const inThread = () => new WebGpuEngine({ gpu: o.gpu, device: typeof o.device === 'object' ? o.device : undefined });
  try {
    if (!wantsWorker(o)) return await loaded(inThread(), request);
    try {
      return await loaded(createWorkerEngine({ workerUrl: o.workerUrl }), request);
    } catch (e) {
      // A worker that cannot start is no reason to fail when nobody asked for one.
      if (!(e instanceof WorkerUnavailableError) || o.worker === true || o.workerUrl !== undefined) throw e;
      console.warn(`vim-webgpu: ${e.message}; running in this thread instead`);
      return await loaded(inThread(), request);
    }
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    if (!o.cpuFallback) {
      throw new GpuUnavailableError(`${e.message} To run anyway on the CPU (slow: seconds per image), pass cpuFallback: true.`);
    }
    return loaded(new CpuEngine(), request);
  }
}

export async function createClassifier(options: ClassifierOptions = {}): Promise<Classifier> {
  checkOptions(options);
  throwIfAborted(options.signal);
  return classifierFor(await loadEngine(options), options);
}

/**
 * A classifier on an engine of the caller's (tests: the worker path over a
 * MessageChannel in Node); `options` as createClassifier's, less the engine choice.
 */
export async function classifierOn(engine: Engine, options: ClassifierOptions = {}): Promise<Classifier> {
  checkOptions(options);
  throwIfAborted(options.signal);
  return classifierFor(await loaded(engine, loadRequest(options)), options);
}

async function classifierFor({ engine, summary }: { engine: Engine; summary: ModelSummary }, options: ClassifierOptions): Promise<Classifier> {
  const n = summary.config.numClasses;
  const labels = options.labels ? [...options.labels] : summary.labels ?? defaultLabels(n) ?? Array.from({ length: n }, (_, i) => `class ${i}`);
  if (labels.length !== n) {
    await engine.dispose();
    throw new InputError('labels', `${labels.length} names given, the model has ${n} classes`);
  }
  return new VimClassifier(engine, summary, labels, await engine.info());
}

class VimClassifier implements Classifier {
  private readonly inFlight = new Set<Promise<unknown>>();
  private disposing?: Promise<void>;
  lastTiming: InferenceTiming | undefined;

  constructor(private readonly engine: Engine, private readonly summary: ModelSummary,
    private readonly labels: string[], private engineInfo: EngineInfo) {}

  /** Runs a call, remembered until it settles so that dispose() can wait for it. */
  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.disposing) return Promise.reject(new DisposedError('the classifier was disposed'));
    const p = work();
    this.inFlight.add(p);
    const forget = () => { this.inFlight.delete(p); };
    p.then(forget, forget);
    return p;
  }

  /** One engine call, timed as the caller sees it; info() is refreshed before it resolves. */
  private run(images: readonly ImageInput[], o: InferOptions): Promise<InferResult> {
    return this.track(async () => {
      const start = performance.now();
      const r = await this.engine.infer(images, { ...o, timed: true });
      this.lastTiming = r.gpuMs === undefined ? { wallMs: performance.now() - start } : { wallMs: performance.now() - start, gpuMs: r.gpuMs };
      this.engineInfo = await this.engine.info();
      return r;
    });
  }

  classify(image: ImageInput, options: ClassifyOptions = {}): Promise<Prediction[]> {
    return this.classifyBatch([image], options).then((r) => r[0]);
  }

  classifyBatch(images: readonly ImageInput[], options: ClassifyOptions = {}): Promise<Prediction[][]> {
    const k = options.topK ?? DEFAULT_TOP_K;
    if (!(k >= 1)) return Promise.reject(new InputError('options', `topK must be at least 1, got ${k}`));
    return this.run(images, { topK: k, signal: options.signal })
      .then((r) => r.top!.map((list) => list.map(({ index, score }) => ({ index, label: this.labels[index], score }))));
  }

  features(image: ImageInput, options: Pick<ClassifyOptions, 'signal'> = {}): Promise<ImageFeatures> {
    return this.run([image], { features: true, signal: options.signal }).then((r) => {
      const g = this.summary.grid;
      return { ...r.features![0], grid: [g[0], g[1]] as [number, number], dim: this.summary.config.embedDim };
    });
  }

  info(): ClassifierInfo {
    const e = this.engineInfo, s = this.summary;
    return {
      backend: e.backend, adapter: e.adapter, config: { ...s.config }, dtype: s.dtype, resolution: s.size,
      stride: s.stride, grid: [...s.grid] as [number, number], interpolation: s.interpolation, memoryBytes: e.memoryBytes,
    };
  }

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      // Calls already running finish (GPU work cannot be recalled); then everything is freed.
      await Promise.allSettled([...this.inFlight]);
      await this.engine.dispose();
      this.engineInfo = { ...this.engineInfo, memoryBytes: 0, buffers: 0 };
    })();
    return this.disposing;
  }
}
