// What crosses between a page and the engine's Web Worker. The worker runs the
// same engine as the page would (src/engine/webgpu-engine.ts); this is that
// engine's interface made structured-clonable: weights are absolute URLs (the
// page resolves them), Blobs/Files or ArrayBuffers; images are ImageBitmaps
// (transferred when the page made them), ImageData, raw pixels, Blobs/Files
// (decoded in the worker) or Float32Array tensors; AbortSignals become
// abort(callId) calls. Errors keep their class across the boundary (wire-errors.ts).
import type { CachedWeights } from '../weights/cache.js';
import type { ImageInput, LoadProgress } from '../api/types.js';
import type { EngineInfo, InferOptions, InferResult, LoadRequest, ModelSummary } from '../engine/engine.js';

export type { CachedWeights, EngineInfo, InferResult, LoadProgress, ModelSummary };

/** Chosen by the page; abort(callId) cancels that call. */
interface Cancellable { callId?: number }

export type WireLoadRequest = Omit<LoadRequest, 'signal' | 'onProgress' | 'weights'> & Cancellable & { weights: string | Blob | ArrayBuffer };
export type WireInferOptions = Omit<InferOptions, 'signal'> & Cancellable;
/** Images as they travel: what the page cannot send (elements, canvases, video frames) it turns into ImageBitmaps first. */
export type WireImage = Exclude<ImageInput, HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | VideoFrame>;

/** The worker's interface; through comlink every method returns a Promise. */
export interface WorkerEngineApi {
  load(request: WireLoadRequest, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary>;
  /** A whole batch, decoded and preprocessed in the worker. */
  infer(images: WireImage[], options: WireInferOptions): Promise<InferResult>;
  abort(callId: number): void;
  info(): Promise<EngineInfo>;
  listCached(): Promise<CachedWeights[]>;
  deleteCached(source?: string): Promise<number>;
  dispose(): Promise<void>;
}
