// A Dispatch is one kernel launch with its bind group already made. Ops build
// Dispatches once per model plan (shapes fixed), and a forward pass just encodes
// them in order into one command encoder.
import { LimitExceededError } from '../errors.js';
import type { GpuContext } from './context.js';
import { bindGroupEntries, checkBindings, type Kernel, type StorageBuffers } from './bindings.js';
import { kernelKey } from './pipeline-cache.js';

export interface Dispatch {
  label: string;
  /** kernelKey of the kernel: groups timings per kernel kind. */
  kernel: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  /** Buffers made for this dispatch alone (its parameter block): freed with it. */
  owned: GPUBuffer[];
}

/**
 * One launch of `kernel`. Buffers are passed by binding name (the kernel's
 * `bindings` map, see ./bindings.ts); `params`, if the kernel declares a
 * 'params' uniform block, is uploaded into a buffer of its own and bound there.
 */
export function makeDispatch<B extends string>(
  ctx: GpuContext,
  kernel: Kernel<B>,
  params: ArrayBuffer | ArrayBufferView | undefined,
  storage: StorageBuffers<B>,
  workgroups: [number, number?, number?],
  label = kernel.name,
  /** Buffers the caller made for this dispatch alone, bound in `storage`: freed with it. */
  ownedStorage: GPUBuffer[] = [],
): Dispatch {
  // Checked before anything is created, so a refused dispatch leaves no buffer behind.
  const [x, y = 1, z = 1] = workgroups;
  const buffers = storage as Readonly<Record<string, GPUBuffer>>;
  try {
    checkWorkgroups(ctx, [x, y, z], label, kernel.name);
    checkBindings(kernel, label, params !== undefined, buffers);
  } catch (e) {
    for (const b of ownedStorage) ctx.buffers.destroy(b);
    throw e;
  }
  const pipeline = ctx.pipelines.get(kernel);
  const owned: GPUBuffer[] = [...ownedStorage];
  let uniform: GPUBuffer | undefined;
  if (params) {
    const bytes = ArrayBuffer.isView(params) ? new Uint8Array(params.buffer, params.byteOffset, params.byteLength) : new Uint8Array(params);
    uniform = ctx.buffers.upload(`${label}:params`, bytes, GPUBufferUsage.UNIFORM);
    owned.push(uniform);
  }
  const entries = bindGroupEntries(kernel, uniform, buffers);
  const bindGroup = ctx.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
  return { label, kernel: kernelKey(kernel), pipeline, bindGroup, workgroups: [x, y, z], owned };
}

/** A grid over the adapter's per-dimension limit would be rejected by WebGPU with an opaque validation error. */
function checkWorkgroups(ctx: GpuContext, grid: number[], label: string, kernel: string): void {
  const max = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  grid.forEach((n, axis) => {
    if (n > max) {
      throw new LimitExceededError('maxComputeWorkgroupsPerDimension', n, max,
        `dispatch '${label}' (kernel ${kernel}) needs ${n} workgroups along ${'xyz'[axis]}; use a smaller batch or resolution`);
    }
  });
}

/** Encodes dispatches into one compute pass (WebGPU orders storage accesses between dispatches). */
export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.workgroups);
  }
}

/** Records and submits dispatches, then waits for the GPU (tests and one-off ops). */
export async function runDispatches(ctx: GpuContext, dispatches: readonly Dispatch[]): Promise<void> {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encodeDispatches(pass, dispatches);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
  await ctx.device.queue.onSubmittedWorkDone();
}

/** Packs a parameter block: integers as u32, numbers marked with f() as f32. */
export function packParams(values: Array<number | { f: number }>): ArrayBuffer {
  // Uniform blocks are padded to 16 bytes.
  const n = Math.max(4, Math.ceil(values.length / 4) * 4);
  const buf = new ArrayBuffer(n * 4);
  const u = new Uint32Array(buf), f = new Float32Array(buf);
  values.forEach((v, i) => {
    if (typeof v === 'number') u[i] = v >>> 0; else f[i] = v.f;
  });
  return buf;
}

/** Frees what makeDispatch created for these dispatches. */
export function releaseDispatches(ctx: GpuContext, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) for (const b of d.owned) ctx.buffers.destroy(b);
}
