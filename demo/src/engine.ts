// The demo's one door to the engine: the public API (createClassifier from src/),
// which runs the model in a Web Worker that streams, converts and caches the
// weights (a second visit loads them with no network). The page adds:
// - a warm-up call after loading, so that "ready" means the first photo answers
//   at once (on software adapters, compiling the kernels takes far longer than
//   running them);
// - each call's timing beside its predictions (the API's lastTiming).
import {
  createClassifier as apiCreateClassifier,
  type Classifier, type ClassifierOptions, type InferenceTiming, type LoadProgress,
} from '../../src/index.js';

export {
  DEFAULT_INTERPOLATION, GpuUnavailableError, WeightFormatError, ModelShapeError, LimitExceededError,
  DeviceLostError, InputError, NumericsError, WeightFetchError, OutOfMemoryError, AbortError, LoadAbortedError,
  type Classifier, type ClassifierInfo, type ClassifierOptions, type ImageInput, type InferenceTiming, type Prediction,
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
  const bytes = {
    loadedBytes: last?.totalBytes ?? 0, totalBytes: last?.totalBytes ?? 0, tensorsReady: last?.tensorsTotal ?? 0, tensorsTotal: last?.tensorsTotal ?? 0,
  };
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

/** Predictions with the call's wall time and, where the adapter has timestamp queries, its GPU time. */
export interface TimedResult extends InferenceTiming {
  predictions: Awaited<ReturnType<Classifier['classify']>>;
}

export async function classifyTimed(c: Classifier, image: Parameters<Classifier['classify']>[0], topK = 5): Promise<TimedResult> {
  const predictions = await c.classify(image, { topK });
  // The page makes one call at a time, so the last timing is this call's.
  return { predictions, ...c.lastTiming! };
}

/** True for errors that mean "the GPU ran out of memory" (the API's error, or a raw WebGPU message). */
export function isOutOfMemory(e: unknown): boolean {
  return e instanceof Error && /OutOfMemory|out of (GPU )?memory/i.test(`${e.name} ${e.message}`);
}
