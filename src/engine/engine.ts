// The one interface between the public Classifier and what executes the model:
// the WebGPU engine (webgpu-engine.ts) in this thread or inside the Web Worker
// (src/worker: a thin comlink adapter exposes the same interface), or the CPU
// reference (cpu-engine.ts). An engine loads weights, takes whole batches of
// images (decoding and preprocessing them itself) and answers with logits,
// top-k classes and features. The Classifier adds labels and the life cycle.
import type { VimConfig } from '../model/config.js';
import type { Backend, AdapterDescription, ImageInput, Interpolation, LoadProgress, WeightsDType, WeightsInput } from '../api/types.js';

export interface LoadRequest {
  weights: WeightsInput;
  /** Storage of the big matrices when a checkpoint is converted; a vim-webgpu file keeps its own. */
  dtype: WeightsDType;
  /** undefined: the checkpoint's own size. */
  resolution?: number;
  interpolation: Interpolation;
  /** Largest batch run on the device at once; infer() splits larger ones. */
  maxBatch: number;
  /** Expected sha256 of a vim-webgpu file. */
  sha256?: string;
  /** Use the Cache API where there is one (default true). */
  cache?: boolean;
  /** Cache key for a Blob or bytes (e.g. a File's name, size and lastModified). */
  cacheKey?: string;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** What a loaded model looks like from outside. */
export interface ModelSummary {
  /** The config the model runs (posRows follows the resolution). */
  config: VimConfig;
  size: number;
  stride: number;
  grid: [number, number];
  interpolation: Interpolation | null;
  dtype: WeightsDType;
  /** Class names the weight file carries (its metadata), if any. */
  labels?: string[];
  /** The file's descriptive metadata (class names, training input size…), without per-tensor tables. */
  metadata: Record<string, string>;
  /** Where the weights came from and how. */
  source: { name: string; sha256: string; fileBytes: number; fromCache: boolean; converted: boolean };
  /** Model tensors in the file. */
  tensors: number;
  /** From load() to ready, where the engine runs. */
  loadMs: number;
}

export interface InferOptions {
  /** Also return each image's final-normed class token and patch tokens. */
  features?: boolean;
  /** Measure the forward passes' GPU time (timestamp queries), where the device can. */
  timed?: boolean;
  /** Also return each image's k most probable classes (softmax), best first. */
  topK?: number;
  signal?: AbortSignal;
}

export interface ScoredClass {
  index: number;
  /** Softmax probability. */
  score: number;
}

export interface TokenFeatures {
  /** The final-normed class token (the head's input), `dim` floats. */
  cls: Float32Array;
  /** Final-normed patch tokens, gridH · gridW · dim, row-major, class token removed. */
  patches: Float32Array;
}

export interface InferResult {
  /** (images, classes), checked finite. */
  logits: Float32Array;
  /** One list per image, with `topK`. */
  top?: ScoredClass[][];
  /** One per image, with `features`. */
  features?: TokenFeatures[];
  /** Summed over the batch's passes, when `timed` and every pass was measured. */
  gpuMs?: number;
}

export interface EngineInfo {
  backend: Backend;
  adapter: AdapterDescription | null;
  /** GPU memory held now (weights, activations); host bytes of the weights on the CPU. */
  memoryBytes: number;
  /** Device buffers held now (0 on the CPU). */
  buffers: number;
}

export interface Engine {
  readonly backend: Backend;
  /** Loads the weights, replacing the model loaded before (if any) once it succeeds. */
  load(request: LoadRequest): Promise<ModelSummary>;
  /** A whole batch: images of any accepted kind, or preprocessed tensors. */
  infer(images: readonly ImageInput[], options?: InferOptions): Promise<InferResult>;
  info(): Promise<EngineInfo>;
  /** Frees everything; later calls reject with DisposedError. */
  dispose(): Promise<void>;
}
