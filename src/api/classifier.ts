// createClassifier: picks and loads an engine, then turns engine outputs into
// what people want — labelled top-k probabilities and backbone features —
// and owns the life cycle (calls in flight, dispose).
import { DisposedError, GpuUnavailableError, InputError } from '../errors.js';
import { defaultLabels } from '../model/labels.js';
import { checkFiniteOutput } from '../model/numerics.js';
import { softmax, topK } from '../model/top-k.js';
import { CpuEngine } from './cpu-engine.js';
import { DEFAULT_DTYPE, DEFAULT_INTERPOLATION, DEFAULT_MAX_BATCH, DEFAULT_TOP_K, DEFAULT_WEIGHTS, DEFAULT_WORKER_IN_PAGES } from './defaults.js';
import type { Engine, EngineImage, LoadRequest, ModelSummary } from './engine.js';
import { raceAbort, throwIfAborted, WorkerUnavailableError } from './errors.js';
import { GpuEngine } from './gpu-engine.js';
import { isNode } from './node.js';
import { WorkerEngineAdapter } from './worker-engine.js';
import { createWorkerEngine } from '../worker/client.js';
import { prepareImage, type PreparedImage } from './inputs.js';
import type {
  Classifier, ClassifierInfo, ClassifierOptions, ClassifyOptions, ImageFeatures, ImageInput, InferenceTiming, Prediction,
} from './types.js';

function checkOptions(o: ClassifierOptions): void {
  if (o.interpolation !== undefined && o.interpolation !== 'official' && o.interpolation !== 'corrected') {
    throw new InputError('options', `interpolation must be 'official' or 'corrected', got '${String(o.interpolation)}'`);
  }
  if (o.dtype !== undefined && !['f32', 'f16', 'int8'].includes(o.dtype)) {
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

async function loadEngine(o: ClassifierOptions): Promise<{ engine: Engine; summary: ModelSummary }> {
  const request: LoadRequest = {
    weights: o.weights!, dtype: o.dtype ?? DEFAULT_DTYPE, resolution: o.resolution,
    interpolation: o.interpolation ?? DEFAULT_INTERPOLATION, onProgress: o.onProgress, signal: o.signal,
  };
  if (o.device === 'cpu') {
    const engine = new CpuEngine();
    return { engine, summary: await engine.load(request) };
  }
  const worker = () => createWorkerEngine({ workerUrl: o.workerUrl });
  let engine: Engine = wantsWorker(o) ? new WorkerEngineAdapter(worker) : new GpuEngine({ gpu: o.gpu, device: typeof o.device === 'object' ? o.device : undefined });
  try {
    try {
      return { engine, summary: await engine.load(request) };
    } catch (e) {
      // A worker that cannot start is no reason to fail when nobody asked for one.
      if (!(e instanceof WorkerUnavailableError) || o.worker === true || o.workerUrl !== undefined) throw e;
      console.warn(`vim-webgpu: ${e.message}; running in this thread instead`);
      engine = new GpuEngine({ gpu: o.gpu });
      return { engine, summary: await engine.load(request) };
    }
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    if (!o.cpuFallback) {
      throw new GpuUnavailableError(`${e.message} To run anyway on the CPU (slow: seconds per image), pass cpuFallback: true.`);
    }
    const cpu = new CpuEngine();
    return { engine: cpu, summary: await cpu.load(request) };
  }
}

export async function createClassifier(options: ClassifierOptions = {}): Promise<Classifier> {
  checkOptions(options);
  throwIfAborted(options.signal);
  const { engine, summary } = await loadEngine(options);
  const n = summary.config.numClasses;
  const labels = options.labels ? [...options.labels] : summary.labels ?? defaultLabels(n) ?? Array.from({ length: n }, (_, i) => `class ${i}`);
  if (labels.length !== n) {
    await engine.dispose();
    throw new InputError('labels', `${labels.length} names given, the model has ${n} classes`);
  }
  return new VimClassifier(engine, summary, labels, options.maxBatch ?? DEFAULT_MAX_BATCH);
}

class VimClassifier implements Classifier {
  private readonly inFlight = new Set<Promise<unknown>>();
  private disposing?: Promise<void>;
  lastTiming: InferenceTiming | undefined;

  constructor(private readonly engine: Engine, private readonly summary: ModelSummary,
    private readonly labels: string[], private readonly maxBatch: number) {}

  /** Runs a call, remembered until it settles so that dispose() can wait for it. */
  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.disposing) return Promise.reject(new DisposedError('the classifier was disposed'));
    const p = work();
    this.inFlight.add(p);
    const forget = () => { this.inFlight.delete(p); };
    p.then(forget, forget);
    return p;
  }

  private async prepare(images: readonly ImageInput[], signal?: AbortSignal): Promise<PreparedImage[]> {
    const settled = await Promise.allSettled(images.map((img, i) => prepareImage(img, this.summary.size, i)));
    const prepared = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed || signal?.aborted) {
      prepared.forEach((p) => p.release());
      if (failed) throw (failed as PromiseRejectedResult).reason;
      throwIfAborted(signal);
    }
    return prepared;
  }

  /** Notes a successful call's timing; `gpuMs` only when every pass of the call was timed. */
  private timed(start: number, gpuMs: Array<number | undefined>): void {
    const timing: InferenceTiming = { wallMs: performance.now() - start };
    if (gpuMs.length > 0 && gpuMs.every((t) => t !== undefined)) timing.gpuMs = (gpuMs as number[]).reduce((a, t) => a + t, 0);
    this.lastTiming = timing;
  }

  private predictions(row: Float32Array, k: number): Prediction[] {
    const p = softmax(row);
    return topK(p, k).map(({ index, value }) => ({ index, label: this.labels[index], score: value }));
  }

  classify(image: ImageInput, options: ClassifyOptions = {}): Promise<Prediction[]> {
    return this.classifyBatch([image], options).then((r) => r[0]);
  }

  classifyBatch(images: readonly ImageInput[], options: ClassifyOptions = {}): Promise<Prediction[][]> {
    const n = this.summary.config.numClasses;
    const k = options.topK ?? DEFAULT_TOP_K;
    if (!(k >= 1)) return Promise.reject(new InputError('options', `topK must be at least 1, got ${k}`));
    return this.track(async () => {
      const start = performance.now();
      const prepared = await this.prepare(images, options.signal);
      try {
        const out: Prediction[][] = [];
        const gpuMs: Array<number | undefined> = [];
        for (let i = 0; i < prepared.length; i += this.maxBatch) {
          const chunk: EngineImage[] = prepared.slice(i, i + this.maxBatch).map((p) => p.image);
          const r = await raceAbort(this.engine.infer(chunk, options.signal), options.signal);
          // Every engine's output passes the guard here (the GPU engine submits its own work, not VimGpu's).
          const logits = checkFiniteOutput(r.logits);
          gpuMs.push(r.gpuMs);
          for (let b = 0; b < chunk.length; b++) out.push(this.predictions(logits.subarray(b * n, (b + 1) * n), Math.min(Math.floor(k), n)));
        }
        this.timed(start, gpuMs);
        return out;
      } finally {
        prepared.forEach((p) => p.release());
      }
    });
  }

  features(image: ImageInput, options: Pick<ClassifyOptions, 'signal'> = {}): Promise<ImageFeatures> {
    return this.track(async () => {
      const start = performance.now();
      const [prepared] = await this.prepare([image], options.signal);
      try {
        const { logits, tokens, geometry: g, gpuMs } = await raceAbort(this.engine.features(prepared.image, options.signal), options.signal);
        checkFiniteOutput(logits);
        checkFiniteOutput(tokens, 'features');
        this.timed(start, [gpuMs]);
        const D = this.summary.config.embedDim;
        const patches = new Float32Array(g.patches * D);
        // Tokens are [patches before M//2, class token, the rest]: lift the class row out.
        patches.set(tokens.subarray(0, g.clsIndex * D), 0);
        patches.set(tokens.subarray((g.clsIndex + 1) * D, g.tokens * D), g.clsIndex * D);
        const cls = tokens.slice(g.clsIndex * D, (g.clsIndex + 1) * D);
        return { cls, patches, grid: [g.gridH, g.gridW] as [number, number], dim: D };
      } finally {
        prepared.release();
      }
    });
  }

  info(): ClassifierInfo {
    const e = this.engine.info(), s = this.summary;
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
    })();
    return this.disposing;
  }
}
