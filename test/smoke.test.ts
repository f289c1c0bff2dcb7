import { test, expect } from 'vitest';
import code from '../shaders/smoke.wgsl?raw';
import { testGpu } from './gpu.js';
import { makeDispatch, runDispatches } from '../src/gpu/dispatch.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { releaseGpu } from '../src/gpu/context.js';

test('webgpu smoke', async () => {
  const ctx = await testGpu();
  const buf = ctx.buffers.upload('x', new Float32Array([1, 2, 3]), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  await runDispatches(ctx, [makeDispatch(ctx, { name: 'smoke', code, bindings: { data: 0 } }, undefined, { data: buf }, [1])]);
  expect(Array.from((await readBuffer(ctx.device, buf, 12)))).toEqual([2, 4, 6]);
  releaseGpu(ctx);
  expect(ctx.buffers.liveCount).toBe(0);
});
