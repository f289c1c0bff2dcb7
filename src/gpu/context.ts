// A GpuContext bundles what every op needs: the device, what the adapter can do,
// the pipeline cache and the buffer registry. One per device.
import { GpuUnavailableError } from '../errors.js';
import { BufferRegistry } from './buffers.js';
import { DeviceWatcher } from './device-loss.js';
import { PipelineCache } from './pipeline-cache.js';

export interface GpuFeatures {
  subgroups: boolean;
  timestampQuery: boolean;
  shaderF16: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string; isFallback: boolean };
  features: GpuFeatures;
  pipelines: PipelineCache;
  buffers: BufferRegistry;
  /** Whether the device is lost, and waiting on its work with that in mind (device-loss.ts). */
  loss: DeviceWatcher;
  /**
   * The GPU object the device came from. Held only to keep it alive: Dawn in
   * Node stops delivering events (mapAsync and onSubmittedWorkDone never
   * resolve, or the process aborts) once that object is garbage-collected.
   */
  gpu?: GPU;
}

export interface AcquireOptions {
  /** navigator.gpu in a page; the `webgpu` package's create() in Node (see ./node.ts). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Use subgroup operations when the adapter offers them (default true). */
  useSubgroups?: boolean;
}

// Limits we ask for explicitly: the adapter's maximum, since the defaults
// (128 MiB bindings, 16 KiB workgroup memory) are too small for large inputs.
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

export async function acquireGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  const gpu = options.gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new GpuUnavailableError('WebGPU is not available here: use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+), or in Node pass the `webgpu` package (see README).');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new GpuUnavailableError('WebGPU is present but no adapter was found (GPU blocklisted or no driver).');
  const want: GPUFeatureName[] = [];
  const has = (f: string) => adapter.features.has(f);
  if (has('timestamp-query')) want.push('timestamp-query');
  if (options.useSubgroups !== false && has('subgroups')) want.push('subgroups' as GPUFeatureName);
  if (has('shader-f16')) want.push('shader-f16');
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) requiredLimits[k] = (adapter.limits as unknown as Record<string, number>)[k];
  const device = await adapter.requestDevice({ requiredFeatures: want, requiredLimits });
  return wrapDevice(device, adapter.info, gpu);
}

/** The context of a device: what the kernels need to know about it, and its registries. */
export function wrapDevice(device: GPUDevice, info: GPUAdapterInfo | undefined, gpu?: GPU): GpuContext {
  return {
    device,
    adapterInfo: {
      vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '',
      description: info?.description ?? '',
      isFallback: Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter),
    },
    features: {
      subgroups: device.features.has('subgroups'),
      timestampQuery: device.features.has('timestamp-query'),
      shaderF16: device.features.has('shader-f16'),
    },
    pipelines: new PipelineCache(device),
    buffers: new BufferRegistry(device),
    loss: new DeviceWatcher(device),
    gpu,
  };
}

/** Destroys every buffer the context created and the device itself. */
export function releaseGpu(ctx: GpuContext): void {
  ctx.buffers.destroyAll();
  ctx.device.destroy();
  ctx.gpu = undefined;  // lets Node exit once the caller drops the context too
}
