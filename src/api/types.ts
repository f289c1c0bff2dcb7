/// <reference lib="dom" preserve="true" />
/// <reference types="@webgpu/types" preserve="true" />
// The public types of createClassifier and the Classifier it returns. Kept in
// one file so the README and the .d.ts read the same way.
import type { VimConfig } from '../model/config.js';
import type { PosEmbedMode } from '../model/pos-embed.js';
import type { RandomAccessSource } from '../weights/source.js';
import type { WeightDType } from '../weights/weight-dtype.js';

export type Backend = 'webgpu' | 'cpu';

/**
 * Precision of the big matrices when the weights are converted on load:
 * 'f32' (exact), 'f16' or 'int8' (per-row scales), on every engine (the CPU
 * reference runs their values expanded to float64); a vim-webgpu weight file keeps its own.
 */
export type WeightsDType = WeightDType;

/**
 * How the position table is resized for a resolution the checkpoint was not
 * trained at: 'official' reproduces hustvl/Vim's interpolate_pos_embed (it treats
 * row 0 as the class token, docs/model.md §3.2), 'corrected' resizes the true patch grid
 * and keeps the class embedding at the middle.
 */
export type Interpolation = PosEmbedMode;

/** Pixels in memory, e.g. from sharp, a decoder or a canvas; rows top to bottom, no padding. */
export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Bytes per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (alpha is ignored). Default: data.length / (width · height). */
  channels?: 1 | 2 | 3 | 4;
}

/**
 * Anything classify() accepts. A Float32Array is an already preprocessed
 * (3, s, s) tensor at the classifier's resolution s; everything else goes
 * through the official eval transform (on the GPU). Blobs and Files are decoded
 * by the engine's PNG/JPEG decoder, which honours EXIF orientation; other
 * formats go through createImageBitmap. A string is a file path (or file: URL),
 * in Node only: the file is read and decoded the same way.
 */
export type ImageInput =
  | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | ImageData | VideoFrame
  | Blob | RawPixels | Float32Array | string;

/**
 * Where the weights come from: a URL (fetched, with progress), in Node also a
 * file path, a Blob/File, bytes in memory, or any random-access source. The
 * file is an official hustvl/Vim `.pth` checkpoint or a `.safetensors` state dict.
 */
export type WeightsInput = string | URL | Blob | ArrayBuffer | ArrayBufferView | RandomAccessSource;

/**
 * Progress of a load, on every engine: 'convert' while a .pth or safetensors
 * checkpoint is read and converted (bytes: the checkpoint's); 'upload' while the
 * weight file streams onto the device (its download and upload overlap: tensors
 * are written as they arrive); 'ready' once the model can run.
 */
export interface LoadProgress {
  phase: 'convert' | 'upload' | 'ready';
  loadedBytes: number;
  /** 0 when the server did not say. */
  totalBytes: number;
  /** Model tensors written so far, of tensorsTotal (0 of 0 while converting). */
  tensorsReady: number;
  tensorsTotal: number;
  /** Overall fraction done, 0..1, never decreasing; 1 only when ready. */
  progress: number;
}

export interface ClassifierOptions {
  /** Default: the bundled model (see DEFAULT_WEIGHTS); required until one ships. */
  weights?: WeightsInput;
  /** Default 'f32'. */
  dtype?: WeightsDType;
  /**
   * Run the engine in a Web Worker, which owns the GPU device and streams, caches and
   * converts the weights (default: true in a page, false in Node and inside workers;
   * false when `device` is 'cpu' or a GPUDevice).
   */
  worker?: boolean;
  /**
   * Where the worker's script is, for bundlers that do not bundle it themselves
   * (esbuild, Rollup without a plugin): bundle `vim-webgpu/worker` as an entry of
   * its own and pass its URL (README: Bundlers). Implies the worker: if it fails
   * to start, createClassifier rejects with WorkerUnavailableError (within
   * moments of the script failing to load) instead of running in this thread.
   */
  workerUrl?: string | URL;
  /**
   * 'webgpu' (default), 'cpu' (the float64 reference: slow, exact), or a
   * GPUDevice to share with your app (its limits must suit the model).
   */
  device?: Backend | GPUDevice;
  /** The WebGPU entry: navigator.gpu by default; in Node the `webgpu` package is loaded when absent. */
  gpu?: GPU;
  /** Input size s (square). Default: the checkpoint's own (224 for the released models). */
  resolution?: number;
  /** Position-table resizing at other resolutions; default DEFAULT_INTERPOLATION. */
  interpolation?: Interpolation;
  /** Class names, one per output; default: ImageNet-1k names for 1000-way heads, else "class N". */
  labels?: readonly string[];
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts loading: createClassifier rejects with AbortError and frees what it made. */
  signal?: AbortSignal;
  /** Without WebGPU, run on the CPU reference instead of failing (slow: seconds per image). */
  cpuFallback?: boolean;
  /** Largest batch sent to the GPU at once by classifyBatch (default 8). */
  maxBatch?: number;
}

export interface ClassifyOptions {
  /** How many classes to return, best first (default 5). */
  topK?: number;
  /** Rejects the call with AbortError (the GPU work already queued still completes). */
  signal?: AbortSignal;
}

export interface Prediction {
  index: number;
  label: string;
  /** Softmax probability. */
  score: number;
}

export interface ImageFeatures {
  /** The final-normed class token (the head's input), length dim. */
  cls: Float32Array;
  /** Final-normed patch tokens, gridH · gridW · dim, row-major over the patch grid, class token removed. */
  patches: Float32Array;
  grid: [rows: number, cols: number];
  dim: number;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallback: boolean;
}

export interface ClassifierInfo {
  backend: Backend;
  /** null on the CPU backend. */
  adapter: AdapterDescription | null;
  /** The model's configuration as it runs (posRows: rows of the position table at this resolution). */
  config: VimConfig;
  dtype: WeightsDType;
  /** Input size s. */
  resolution: number;
  /** Patch stride (16, or 8 for the fine-tuned "+" checkpoints). */
  stride: number;
  grid: [rows: number, cols: number];
  /** How the position table was resized; null at the checkpoint's own size. */
  interpolation: Interpolation | null;
  /** GPU memory the engine holds now (weights, activations); host bytes of the weights on the CPU backend. */
  memoryBytes: number;
}

/** How long a call took. */
export interface InferenceTiming {
  /** From the call to its answer, as the caller sees it (decoding, preprocessing, transfers and readback included). */
  wallMs: number;
  /**
   * GPU execution time of the model's forward passes (summed over a batch's chunks), from
   * timestamp queries; absent where the device lacks 'timestamp-query', on the CPU backend,
   * or when a pass's timestamps were unusable.
   */
  gpuMs?: number;
}

export interface Classifier {
  classify(image: ImageInput, options?: ClassifyOptions): Promise<Prediction[]>;
  classifyBatch(images: readonly ImageInput[], options?: ClassifyOptions): Promise<Prediction[][]>;
  /** Backbone features for downstream use (segmentation, detection, retrieval). */
  features(image: ImageInput, options?: Pick<ClassifyOptions, 'signal'>): Promise<ImageFeatures>;
  info(): ClassifierInfo;
  /** Timing of the last classify, classifyBatch or features call to succeed; undefined before the first. */
  readonly lastTiming: InferenceTiming | undefined;
  /** Frees the GPU memory (after calls in flight finish); later calls reject with DisposedError. */
  dispose(): Promise<void>;
}
