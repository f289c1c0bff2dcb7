// Public entry of the vim-webgpu package.
export * from './errors.js';
export type { HostTensor, StateDict } from './tensor.js';
export { deriveConfig, geometry, inferStride, parameterCount, type VimConfig, type Geometry } from './model/config.js';
export { acquireGpu, releaseGpu, type GpuContext, type AcquireOptions } from './gpu/context.js';
export { VimGpu, type VimGpuOptions } from './model/vim-gpu.js';
export { topK, softmax } from './model/top-k.js';
export { imagenetLabels } from './model/labels.js';
