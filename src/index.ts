// Public entry of the vim-webgpu package. createClassifier is the API most
// people need; the lower layers (weights, model, GPU context, image transform)
// are exported for those who build on the engine directly.
export * from './api/index.js';
export * from './errors.js';
export type { HostTensor, StateDict } from './tensor.js';
export { deriveConfig, geometry, inferStride, parameterCount, type VimConfig, type Geometry } from './model/config.js';
export { acquireGpu, releaseGpu, type GpuContext, type AcquireOptions } from './gpu/context.js';
export { VimGpu, type VimGpuOptions } from './model/vim-gpu.js';
export { topK, softmax } from './model/top-k.js';
export { AgreementMeter, logitAgreement, type LogitAgreement } from './eval/agreement.js';
export { imagenetLabels } from './model/labels.js';
export { interpolatePosEmbed, type PosEmbedMode } from './model/pos-embed.js';
export { loadVimWeights, bufferSource, blobSource, type RandomAccessSource } from './weights/index.js';
export { decodeImage, evalTransform, applyOrientation, type RgbImage, type DecodedImage, type ExifOrientation } from './image/index.js';
export { preprocessGeometry, outputPointToStored, type PreprocessGeometry } from './ops/preprocess-geometry.js';
export { referenceForward } from './reference/vim.js';
// Quantized weights (weights/FORMAT.md): convert, stream onto the GPU, cache, and the worker engine.
export { convertWeights, type ConvertOptions } from './weights/convert.js';
// concatEngineFile, EngineFile: the names these had before "engine" meant only the Engine interface.
export { concatVimFile, concatVimFile as concatEngineFile, type VimFile, type VimFile as EngineFile } from './weights/format-write.js';
// TargetDType: the name this type had before it was the one dtype type (WeightDType, also WeightsDType).
export { WEIGHT_DTYPES, type WeightDType, type WeightDType as TargetDType } from './weights/weight-dtype.js';
export {
  loadWeights, type LoadWeightsOptions, type LoadResult, type WeightSource, type LoadProgress as WeightLoadProgress,
} from './weights/stream-loader.js';
export { listCached, deleteCached, type CachedWeights } from './weights/cache.js';
// The engine behind createClassifier, for those who drive it directly: the same
// interface in this thread (WebGpuEngine, CpuEngine) and in the Web Worker (createWorkerEngine).
export { WebGpuEngine } from './engine/webgpu-engine.js';
export { CpuEngine } from './engine/cpu-engine.js';
export type {
  Engine, EngineInfo, InferOptions, InferResult, LoadRequest, ModelSummary, ScoredClass, TokenFeatures,
} from './engine/engine.js';
export { createWorkerEngine, RemoteEngine, type WorkerEngineOptions } from './worker/index.js';
