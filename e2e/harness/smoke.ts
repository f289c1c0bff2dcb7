// The smallest end-to-end check: upload, one dispatch, read back.
import code from '../../shaders/smoke.wgsl?raw';
import { readBuffer } from '../../src/gpu/buffers.js';
import { makeDispatch, runDispatches } from '../../src/gpu/dispatch.js';
import { pageGpu } from './gpu.js';

/** Runs shaders/smoke.wgsl (doubles each element) on [1, 2, 3]. */
export async function smoke(): Promise<number[]> {
  const ctx = await pageGpu();
  const buf = ctx.buffers.upload('smoke:x', new Float32Array([1, 2, 3]), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  try {
    await runDispatches(ctx, [makeDispatch(ctx, { name: 'smoke', code, bindings: { data: 0 } }, undefined, { data: buf }, [1])]);
    return Array.from(await readBuffer(ctx.device, buf, 12));
  } finally {
    ctx.buffers.destroy(buf);
  }
}
