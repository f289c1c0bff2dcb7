// The GPU time of one compute pass (a whole forward): timestamps at its beginning
// and end, resolved and copied out in the pass's own command buffer, so the
// caller maps them beside its outputs with no extra submit or wait. Calls may
// share a timer: the queue runs in order and each copy is queued with its pass.
import type { GpuContext } from './context.js';

export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;

  constructor(private readonly ctx: GpuContext) {
    if (!ctx.features.timestampQuery) throw new Error('PassTimer: the device has no timestamp-query feature');
    this.querySet = ctx.device.createQuerySet({ label: 'pass-timer', type: 'timestamp', count: 2 });
    this.resolved = ctx.buffers.create('pass-timer.resolve', 16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
  }

  /**
   * Stamps for a pass timed alone (first and last), or for one of several passes
   * timed together: the beginning of the first and the end of the last
   * (undefined for a pass in between).
   */
  writesFor(first: boolean, last: boolean): GPUComputePassTimestampWrites | undefined {
    if (!first && !last) return undefined;
    return { querySet: this.querySet, ...(first ? { beginningOfPassWriteIndex: 0 } : {}), ...(last ? { endOfPassWriteIndex: 1 } : {}) };
  }

  /** Queues the stamps' copy after the timed pass, in its encoder; after the submit, give the result to readPassMs. */
  resolve(enc: GPUCommandEncoder): GPUBuffer {
    const staging = this.ctx.device.createBuffer({ label: 'pass-timer.read', size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    enc.resolveQuerySet(this.querySet, 0, 2, this.resolved, 0);
    enc.copyBufferToBuffer(this.resolved, 0, staging, 0, 16);
    return staging;
  }

  destroy(): void {
    this.querySet.destroy();
    this.ctx.buffers.destroy(this.resolved);
  }
}

/**
 * Milliseconds between the stamps in `staging` (which it destroys), or undefined
 * when not positive: drivers may reset the counter between the two writes.
 */
export async function readPassMs(staging: GPUBuffer): Promise<number | undefined> {
  try {
    await staging.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(staging.getMappedRange());
    const ns = Number(end - begin);
    staging.unmap();
    return ns > 0 && Number.isFinite(ns) ? ns / 1e6 : undefined;
  } finally {
    staging.destroy();
  }
}
