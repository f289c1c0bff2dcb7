// The small interface between the public Classifier and whatever executes the
// model: the WebGPU engine in this thread, the CPU reference, or (later) a Web
// Worker that owns the device. The Classifier does inputs, labels, softmax and
// life cycle; an engine only loads weights and turns images into numbers.
import type { Geometry, VimConfig } from '../model/config.js';
import type { PixelSource } from '../ops/preprocess.js';
import type { AdapterDescription, Backend, Interpolation, LoadProgress, WeightsDType, WeightsInput } from './types.js';

/**
 * One image as an engine takes it: a preprocessed (3, s, s) tensor, or stored
 * pixels that the engine preprocesses with the official eval transform.
 */
export type EngineImage = { kind: 'tensor'; data: Float32Array } | PixelSource;

export interface LoadRequest {
  weights: WeightsInput;
  dtype: WeightsDType;
  /** undefined: the checkpoint's own size. */
  resolution?: number;
  interpolation: Interpolation;
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
}

export interface EngineOutput {
  /** (B, classes) */
  logits: Float32Array;
  /** GPU time of the forward pass (timestamp queries), where the device measures it. */
  gpuMs?: number;
}

export interface EngineFeatures extends EngineOutput {
  /** Final-normed tokens (B, L, D), class token at geometry.clsIndex. */
  tokens: Float32Array;
  geometry: Geometry;
}

export interface EngineInfo {
  backend: Backend;
  adapter: AdapterDescription | null;
  memoryBytes: number;
}

export interface Engine {
  readonly backend: Backend;
  load(request: LoadRequest): Promise<ModelSummary>;
  /** Logits (B, classes) of a batch of images. */
  infer(images: EngineImage[], signal?: AbortSignal): Promise<EngineOutput>;
  features(image: EngineImage, signal?: AbortSignal): Promise<EngineFeatures>;
  info(): EngineInfo;
  /** Frees everything; calls in flight may reject. */
  dispose(): Promise<void>;
}
