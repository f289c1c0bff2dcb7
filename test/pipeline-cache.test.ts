// The pipeline cache keys on the shader code as well as the kernel's name, entry
// point and constants: two kernels that share a name but not their WGSL must not
// share a pipeline (before, the second silently ran the first one's code).
import { test, expect } from 'vitest';
import { testGpu } from './gpu.js';
import { makeDispatch, runDispatches } from '../src/gpu/dispatch.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { releaseGpu } from '../src/gpu/context.js';
import type { Kernel } from '../src/gpu/bindings.js';
import { kernelKey } from '../src/gpu/pipeline-cache.js';

const scaleBy = (factor: string): string => `
@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&data)) { data[id.x] = data[id.x] * ${factor}; }
}`;

test('same name, different code: different pipelines, each running its own code', async () => {
  const ctx = await testGpu();
  try {
    const double: Kernel<'data'> = { name: 'scale', code: scaleBy('2.0'), bindings: { data: 0 } };
    const triple: Kernel<'data'> = { name: 'scale', code: scaleBy('3.0'), bindings: { data: 0 } };
    expect(kernelKey(double)).toBe(kernelKey(triple));

    await ctx.pipelines.warm([double, triple]);
    expect(ctx.pipelines.size).toBe(2);
    expect(ctx.pipelines.get(double)).not.toBe(ctx.pipelines.get(triple));
    // The same code under the same name (a fresh but equal object) is a cache hit.
    expect(ctx.pipelines.get({ name: 'scale', code: scaleBy('2.0') })).toBe(ctx.pipelines.get(double));
    expect(ctx.pipelines.size).toBe(2);

    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const a = ctx.buffers.upload('a', new Float32Array([1, 2, 3]), usage);
    const b = ctx.buffers.upload('b', new Float32Array([1, 2, 3]), usage);
    await runDispatches(ctx, [
      makeDispatch(ctx, double, undefined, { data: a }, [1]),
      makeDispatch(ctx, triple, undefined, { data: b }, [1]),
    ]);
    expect(Array.from(await readBuffer(ctx.device, a, 12))).toEqual([2, 4, 6]);
    expect(Array.from(await readBuffer(ctx.device, b, 12))).toEqual([3, 6, 9]);
  } finally {
    releaseGpu(ctx);
  }
});
