// What crosses between a page and the engine's Web Worker. The worker owns the
// GPU device and the model; the page holds a typed proxy (client.ts). Everything
// here is structured-clonable: sources are URLs (absolute: the client resolves
// them against the page), Blobs/Files, or ArrayBuffers; inputs and results are
// Float32Arrays (transferred, not copied); images are ImageBitmaps (transferred)
// or raw RGBA/RGB pixels. Errors keep their class across the boundary (wire-errors.ts).
import type { Geometry, VimConfig } from '../model/config.js';
import type { PosEmbedMode } from '../model/pos-embed.js';
import type { CachedWeights } from '../weights/cache.js';
import type { TargetDType } from '../weights/quantize.js';
import type { LoadProgress } from '../weights/stream-loader-progress.js';

export type { CachedWeights, LoadProgress, TargetDType };

/** A weight file: an absolute URL, a Blob/File, or bytes. .pth and safetensors are converted to `dtype` on the way. */
export type WorkerSource = string | Blob | ArrayBuffer;

export interface WorkerLoadOptions {
  /** Storage of the big matrices when the source is converted (default 'int8'); a vim-webgpu file keeps its own. */
  dtype?: TargetDType;
  /** Expected sha256 of a vim-webgpu file. */
  sha256?: string;
  /** Use the Cache API (default true). */
  cache?: boolean;
  /** Cache key for a Blob/bytes source (e.g. file name + size + lastModified). */
  cacheKey?: string;
  /** Input size; default the checkpoint's own. Other sizes resize the position table. */
  resolution?: number;
  /** Position-table resizing at other resolutions (default 'official'). */
  interpolation?: PosEmbedMode;
  /** Chosen by the client; abort(loadId) cancels this load. */
  loadId?: number;
}

export interface WorkerModelInfo {
  /** The config the GPU model runs (posRows follows the resolution). */
  config: VimConfig;
  /** Input size and patch stride the model runs at. */
  size: number;
  stride: number;
  grid: [number, number];
  interpolation: PosEmbedMode | null;
  /** The file's dtype and what each matrix is stored as on the GPU. */
  dtype: TargetDType;
  source: string;
  sha256: string;
  fileBytes: number;
  fromCache: boolean;
  converted: boolean;
  /** The file's descriptive metadata (class names, training input size…), without the per-tensor tables. */
  metadata: Record<string, string>;
  /** From load() to ready, in the worker. */
  loadMs: number;
}

export interface WorkerStatus {
  model: WorkerModelInfo | null;
  loading: boolean;
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallback: boolean } | null;
  /** GPU buffers the engine holds now (weights and activations), for tests and memory displays. */
  gpuBuffers: number;
  gpuBytes: number;
}

/** Pixels in memory, rows top to bottom; 3 (RGB) or 4 (RGBA, alpha ignored) bytes per pixel. */
export interface WorkerPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: 3 | 4;
}

export type WorkerImage = ImageBitmap | ImageData | WorkerPixels;

/** Logits (batch × classes), and the forward pass's GPU time where the device has 'timestamp-query'. */
export interface WorkerInference {
  logits: Float32Array;
  gpuMs?: number;
}

export interface WorkerFeatures extends WorkerInference {
  /** Final-normed tokens (B, L, D); the class token sits at geometry.clsIndex. */
  tokens: Float32Array;
  geometry: Geometry;
}

/** The worker's interface; through comlink every method returns a Promise. */
export interface WorkerEngineApi {
  /** Streams the weights onto the GPU; replaces the current model when done. Other calls wait for it. */
  load(source: WorkerSource, options?: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<WorkerModelInfo>;
  /** Cancels load `loadId` (its promise rejects with LoadAbortedError, its buffers are freed). */
  abort(loadId: number): void;
  /** Logits (batch × classes) of preprocessed images (batch, 3, height, width). */
  infer(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<Float32Array>;
  /** Logits of one image after the official eval transform (resize, center crop, normalize) at the model's size. */
  inferImage(image: WorkerImage): Promise<Float32Array>;
  /** infer() and inferImage() with the GPU time (timestamp queries) beside the logits. */
  inferTimed(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<WorkerInference>;
  inferImageTimed(image: WorkerImage): Promise<WorkerInference>;
  features(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<WorkerFeatures>;
  status(): Promise<WorkerStatus>;
  listCached(): Promise<CachedWeights[]>;
  deleteCached(source?: string): Promise<number>;
  /** Frees the model and the device; later calls reject with DisposedError. */
  dispose(): Promise<void>;
}
