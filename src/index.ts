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
export { imagenetLabels } from './model/labels.js';
export { interpolatePosEmbed, type PosEmbedMode } from './model/pos-embed.js';
export { loadVimWeights, bufferSource, blobSource, type RandomAccessSource } from './weights/index.js';
export { decodeImage, evalTransform, applyOrientation, type RgbImage, type DecodedImage, type ExifOrientation } from './image/index.js';
export { preprocessGeometry, outputPointToStored, type PreprocessGeometry } from './ops/preprocess-geometry.js';
export { referenceForward } from './reference/vim.js';
