// The demo's one door to the engine: the public API (createClassifier from src/)
// plus what the page adds around it:
// - bundled weights are fetched by the page and kept in Cache Storage, so a second
//   visit loads with no network (the API takes a Blob as well as a URL);
// - a warm-up call after loading, so that "ready" means the first photo answers
//   at once (on software adapters, compiling the kernels takes far longer than
//   running them);
// - wall-clock timing of each call.
import {
  createClassifier as apiCreateClassifier,
  type Classifier, type ClassifierOptions, type LoadProgress,
} from '../../src/index.js';
import { fetchWeights } from './weight-fetch.js';

export {
  DEFAULT_INTERPOLATION, GpuUnavailableError, WeightFormatError, ModelShapeError, LimitExceededError,
  DeviceLostError, InputError, NumericsError, WeightFetchError, OutOfMemoryError, AbortError, LoadAbortedError,
  type Classifier, type ClassifierInfo, type ClassifierOptions, type ImageInput, type LoadProgress, type Prediction,
  type WeightsDType as Dtype, type Interpolation,
} from '../../src/index.js';

/** Share of the overall bar the download takes (the API maps parse and upload onto the rest). */
const DOWNLOAD_SHARE = 0.85;

/**
 * createClassifier, with URL weights fetched through the page's cache and one
 * warm-up call before it resolves.
 */
export async function createClassifier(options: ClassifierOptions): Promise<Classifier> {
  let { weights } = options;
  const report = options.onProgress ?? (() => undefined);
  if (typeof weights === 'string' || weights instanceof URL) {
    weights = await fetchWeights(String(weights), ({ loadedBytes, totalBytes }) => report({
      phase: 'download', loadedBytes, totalBytes, progress: totalBytes ? DOWNLOAD_SHARE * loadedBytes / totalBytes : 0,
    }), options.signal);
  }
  let last: LoadProgress | undefined;
  const classifier = await apiCreateClassifier({
    ...options, weights,
    // 'ready' is held back until the warm-up is done.
    onProgress: (p) => { last = p; report(p.phase === 'ready' ? { ...p, phase: 'upload', progress: 0.99 } : p); },
  });
  try {
    await classifier.classify({ data: new Uint8Array(16 * 16 * 3).fill(128), width: 16, height: 16, channels: 3 }, { topK: 1, signal: options.signal });
  } catch (e) {
    await classifier.dispose();
    throw e;
  }
  report({ phase: 'ready', loadedBytes: last?.loadedBytes ?? 0, totalBytes: last?.totalBytes ?? 0, progress: 1 });
  return classifier;
}

export interface TimedResult {
  predictions: Awaited<ReturnType<Classifier['classify']>>;
  /** From the call to the answer, as the page sees it (preprocessing included). */
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
