// GPU timing with timestamp queries: each timed dispatch runs in its own compute
// pass whose beginning and end write a timestamp (the pattern of the WebGPU
// samples). Negative or zero deltas (timestamps can be reset by the driver)
// are dropped rather than reported.
import type { GpuContext } from './context.js';
import type { Dispatch } from './dispatch.js';

export interface DispatchTime {
  label: string;
  kernel: string;
  ns: number;
}

export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;

  constructor(private readonly ctx: GpuContext, readonly capacity: number) {
    if (!ctx.features.timestampQuery) throw new Error('GpuTimer: the adapter has no timestamp-query feature');
    const count = 2 * capacity;
    this.querySet = ctx.device.createQuerySet({ type: 'timestamp', count });
    this.resolve = ctx.buffers.create('timer.resolve', count * 8, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    this.readback = ctx.buffers.create('timer.readback', count * 8, GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ);
  }

  /** Runs the dispatches, one timed pass each, and returns their GPU times. */
  async time(dispatches: readonly Dispatch[]): Promise<DispatchTime[]> {
    const n = dispatches.length;
    if (n > this.capacity) throw new RangeError(`GpuTimer: ${n} dispatches exceed its capacity ${this.capacity}`);
    const enc = this.ctx.device.createCommandEncoder();
    dispatches.forEach((d, i) => {
      const pass = enc.beginComputePass({
        timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
      pass.end();
    });
    enc.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 2 * n * 8);
    this.ctx.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, 2 * n * 8);
    const stamps = new BigInt64Array(this.readback.getMappedRange(0, 2 * n * 8).slice(0));
    this.readback.unmap();
    return dispatches.map((d, i) => ({ label: d.label, kernel: d.kernel, ns: Math.max(0, Number(stamps[2 * i + 1] - stamps[2 * i])) }));
  }

  /** GPU time of a whole sequence of dispatches encoded in one pass. */
  async timeOnePass(dispatches: readonly Dispatch[]): Promise<number> {
    const enc = this.ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    for (const d of dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
    }
    pass.end();
    enc.resolveQuerySet(this.querySet, 0, 2, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16);
    this.ctx.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, 16);
    const s = new BigInt64Array(this.readback.getMappedRange(0, 16).slice(0));
    this.readback.unmap();
    return Math.max(0, Number(s[1] - s[0]));
  }

  destroy(): void {
    this.querySet.destroy();
    this.ctx.buffers.destroy(this.resolve);
    this.ctx.buffers.destroy(this.readback);
  }
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
