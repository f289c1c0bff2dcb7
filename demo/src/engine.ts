// The demo's one door to the engine. The UI imports types and functions from here
// only, so that moving from the interim implementation (engine-interim.ts, built
// on the engine's internals) to the public API (`createClassifier` from src/) is
// a change to this file alone.
export {
  GpuUnavailableError, WeightFormatError, ModelShapeError, LimitExceededError,
  DeviceLostError, InputError, VimError,
} from '../../src/index.js';
export { createClassifier } from './engine-interim.js';

export type Dtype = 'int8' | 'f16' | 'f32';

export type ImageInput =
  | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap
  | ImageData | VideoFrame | Blob | File;

// The types below mirror the public API's (src/api/types.ts) field for field, so
// that switching this module to it changes no caller.

export interface LoadProgress {
  phase: 'download' | 'parse' | 'upload' | 'ready';
  loadedBytes: number;
  /** 0 when the server did not say. */
  totalBytes: number;
  /** Overall fraction done, 0..1, never decreasing. */
  progress: number;
}

export interface ClassifierOptions {
  weights?: string | URL | Blob | ArrayBuffer;
  dtype?: Dtype;
  worker?: boolean;
  resolution?: number;
  interpolation?: 'official' | 'corrected';
  labels?: readonly string[];
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  cpuFallback?: boolean;
}

export interface Prediction {
  index: number;
  label: string;
  score: number;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallback: boolean;
}

export interface ClassifierInfo {
  backend: 'webgpu' | 'cpu';
  /** null on the CPU backend. */
  adapter: AdapterDescription | null;
  config: { numClasses: number; depth: number; embedDim: number; patchSize: number };
  dtype: Dtype;
  resolution: number;
  memoryBytes: number;
}

export interface Classifier {
  classify(image: ImageInput, options?: { topK?: number }): Promise<Prediction[]>;
  info(): ClassifierInfo;
  dispose(): Promise<void> | void;
}

export interface TimedResult {
  predictions: Prediction[];
  /** Submit to read-back as the page sees it, preprocessing included. */
  wallMs: number;
  /** GPU execution time from timestamp queries, when the engine reports one. */
  gpuMs?: number;
}

/** A GPU time the engine may attach to the classifier after each call (optional in the API). */
interface MaybeTimed { lastTiming?: { gpuMs?: number } }

/** classify() plus the timings the results panel shows. */
export async function classifyTimed(c: Classifier, image: ImageInput, topK = 5): Promise<TimedResult> {
  const t0 = performance.now();
  const predictions = await c.classify(image, { topK });
  const wallMs = performance.now() - t0;
  const gpuMs = (c as Classifier & MaybeTimed).lastTiming?.gpuMs;
  return { predictions, wallMs, gpuMs };
}

/** True for errors that mean "the GPU ran out of memory" (the API's error class, or the WebGPU message). */
export function isOutOfMemory(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return /OutOfMemory|out of memory|OOM/i.test(`${e.name} ${e.message}`);
}
