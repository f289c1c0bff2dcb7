// The demo's one door to the engine: the public API (createClassifier from src/),
// which runs the model in a Web Worker that streams, converts and caches the
// weights (a second visit loads them with no network). The page adds:
// - a warm-up call after loading, so that "ready" means the first photo answers
//   at once (on software adapters, compiling the kernels takes far longer than
//   running them);
// - wall-clock timing of each call.
import {
  createClassifier as apiCreateClassifier,
  type Classifier, type ClassifierOptions, type LoadProgress,
} from '../../src/index.js';

export {
  DEFAULT_INTERPOLATION, GpuUnavailableError, WeightFormatError, ModelShapeError, LimitExceededError,
  DeviceLostError, InputError, NumericsError, WeightFetchError, OutOfMemoryError, AbortError, LoadAbortedError,
  type Classifier, type ClassifierInfo, type ClassifierOptions, type ImageInput, type Prediction,
  type WeightsDType as Dtype, type Interpolation,
} from '../../src/index.js';

/** The API's progress, plus what the page itself is doing at the end (the warm-up). */
export interface DemoProgress extends LoadProgress {
  /** Set while the page itself works (the warm-up). */
  note?: string;
}

export interface DemoOptions extends Omit<ClassifierOptions, 'onProgress'> {
  onProgress?: (p: DemoProgress) => void;
}

/** createClassifier, plus one warm-up call before it resolves. */
export async function createClassifier(options: DemoOptions): Promise<Classifier> {
  const report = options.onProgress ?? (() => undefined);
  let last: LoadProgress | undefined;
  const classifier = await apiCreateClassifier({
    ...options,
    onProgress: (p) => {
      if (p.phase === 'ready') return; // held back until the warm-up is done
      last = p;
      report(p);
    },
  });
  const bytes = { loadedBytes: last?.totalBytes ?? 0, totalBytes: last?.totalBytes ?? 0 };
  report({ phase: 'upload', ...bytes, progress: Math.max(last?.progress ?? 0, 0.97), note: 'compiling GPU kernels' });
  try {
    const gray = { data: new Uint8Array(16 * 16 * 3).fill(128), width: 16, height: 16, channels: 3 as const };
    await classifier.classify(gray, { topK: 1, signal: options.signal });
  } catch (e) {
    await classifier.dispose();
    throw e;
  }
  report({ phase: 'ready', ...bytes, progress: 1 });
  return classifier;
}

export interface TimedResult {
  predictions: Awaited<ReturnType<Classifier['classify']>>;
  /** From the call to the answer, as the page sees it (decoding and preprocessing included). */
  wallMs: number;
  /** GPU execution time, when the engine reports one (the API does not yet). */
  gpuMs?: number;
}

/** A GPU time the engine may attach to the classifier after each call (not in the API yet). */
interface MaybeTimed { lastTiming?: { gpuMs?: number } }

export async function classifyTimed(c: Classifier, image: Parameters<Classifier['classify']>[0], topK = 5): Promise<TimedResult> {
  const t0 = performance.now();
  const predictions = await c.classify(image, { topK });
  const wallMs = performance.now() - t0;
  return { predictions, wallMs, gpuMs: (c as Classifier & MaybeTimed).lastTiming?.gpuMs };
}

/** True for errors that mean "the GPU ran out of memory" (the API's error, or a raw WebGPU message). */
export function isOutOfMemory(e: unknown): boolean {
  return e instanceof Error && /OutOfMemory|out of (GPU )?memory/i.test(`${e.name} ${e.message}`);
}
