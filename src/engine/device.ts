// Getting a GPU device for the engine, and reporting allocations that run out
// of memory as typed errors (a lost device is gpu/device-loss.ts's).
import { acquireGpu, releaseGpu, wrapDevice, type GpuContext } from '../gpu/context.js';
import { GpuUnavailableError, VimError } from '../errors.js';
import { OutOfMemoryError } from '../api/errors.js';
import { ensureWebGpuGlobals, isNode, nodeWebGpu } from '../platform/node.js';

export interface DeviceRequest {
  gpu?: GPU;
  device?: GPUDevice;
}

export interface OpenedDevice {
  ctx: GpuContext;
  /** We created the device, so we destroy it; a caller's device is only left. */
  owned: boolean;
}

/** A context around a device someone else created (their limits, their features). */
export function contextFromDevice(device: GPUDevice, gpu?: GPU): GpuContext {
  return wrapDevice(device, (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo, gpu);
}

/** The page's GPU, the one passed in, or in Node the `webgpu` package's. */
async function gpuEntry(gpu: GPU | undefined): Promise<GPU | undefined> {
  if (gpu) return gpu;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (nav) return nav;
  return isNode() ? nodeWebGpu() : undefined;
}

export async function openDevice(req: DeviceRequest): Promise<OpenedDevice> {
  await ensureWebGpuGlobals();
  if (req.device) return { ctx: contextFromDevice(req.device, req.gpu), owned: false };
  const gpu = await gpuEntry(req.gpu);
  try {
    return { ctx: await acquireGpu({ gpu }), owned: true };
  } catch (e) {
    if (e instanceof VimError) throw e;
    // requestDevice() rejects when the adapter cannot grant the features or limits asked for.
    throw new GpuUnavailableError(`the WebGPU adapter refused to create a device: ${(e as Error).message}`);
  }
}

export function closeDevice(d: OpenedDevice): void {
  if (d.owned) releaseGpu(d.ctx);
  else d.ctx.buffers.destroyAll();
}

/**
 * Runs allocation code (a load, a plan) inside an out-of-memory error scope:
 * WebGPU reports a failed allocation asynchronously through the scope, not by
 * throwing. Nothing else may run on the device meanwhile, or its errors land here too.
 */
export async function allocating<T>(device: GPUDevice, what: string, bytes: () => number | undefined, allocate: () => T | Promise<T>, release?: (made: T) => void): Promise<T> {
  device.pushErrorScope('out-of-memory');
  let made: { value: T } | undefined;
  try {
    made = { value: await allocate() };
  } finally {
    const error = await device.popErrorScope();
    if (error) {
      if (made && release) release(made.value);
      throw new OutOfMemoryError(what, bytes(), error.message);
    }
  }
  return made.value;
}
