// Kernels bind buffers by name (src/gpu/bindings.ts). Checked here: each
// kernel's map agrees with the @binding declarations of its WGSL (names and
// numbers; together a module's kernels cover every binding it declares); each
// entry point's map is exactly what WebGPU's 'auto' layout wants (a bind group
// made from it passes validation); and makeDispatch refuses a missing buffer, an
// unknown name or misplaced parameters with an error naming kernel and binding,
// before it creates anything.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import type { Kernel } from '../src/gpu/bindings.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { makeDispatch, packParams, releaseDispatches } from '../src/gpu/dispatch.js';
import { matmulKernel } from '../src/ops/matmul.js';
import { patchEmbedKernel } from '../src/ops/patch-embed.js';
import { PREPROCESS_KERNELS } from '../src/ops/preprocess.js';
import { rmsNormKernel } from '../src/ops/rmsnorm.js';
import { chunkedScanKernels } from '../src/ops/scan-chunked.js';
import { scanConstantsKernel } from '../src/ops/scan-constants.js';
import smokeCode from '../shaders/smoke.wgsl?raw';

/** Every kernel of every module that makes dispatches, per module, on a context with or without subgroups. */
function kernelsByModule(ctx: Pick<GpuContext, 'features' | 'device'>): Record<string, Kernel[]> {
  const c = ctx as GpuContext;
  const scan = chunkedScanKernels(c, { chunk: 16, N: 16, R: 12, taps: 4, single: false, tile: 8, reduction: 'workgroup' });
  return {
    matmul: [matmulKernel('medium', true, 'bias', 'int8', 'rmsnorm'), matmulKernel('direct', false, 'none')],
    'patch-embed': [patchEmbedKernel('small', 16), patchEmbedKernel('direct', 16)],
    preprocess: [...PREPROCESS_KERNELS],
    rmsnorm: [rmsNormKernel(c, 32, false), rmsNormKernel(c, 32, true), rmsNormKernel(c, 31, false), rmsNormKernel(c, 31, true)],
    'scan-chunked': [scan.summary, scan.carry, scan.output],
    'scan-constants': [scanConstantsKernel],
  };
}

/** binding number → [address space, variable name] of each @group(0) declaration (aliases share a number). */
function declaredBindings(code: string): Map<number, Array<[string, string]>> {
  const out = new Map<number, Array<[string, string]>>();
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<(\w+)[^>]*>\s+(\w+)/g)) {
    const n = Number(m[1]);
    out.set(n, [...(out.get(n) ?? []), [m[2], m[3]]]);
  }
  return out;
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

describe('binding maps match the shaders', () => {
  const fakeCtx = { features: { subgroups: false }, device: { limits: {} } } as unknown as GpuContext;
  for (const [module, kernels] of Object.entries(kernelsByModule(fakeCtx))) {
    test(module, () => {
      const covered = new Set<number>();
      for (const k of kernels) {
        const declared = declaredBindings(k.code);
        for (const [name, n] of Object.entries(k.bindings)) {
          const vars = declared.get(n) ?? [];
          const expected = name === 'params' ? vars.some(([space]) => space === 'uniform') : vars.some(([, v]) => v === snake(name));
          expect(expected, `${k.name}:${k.entryPoint ?? 'main'}: '${name}' at @binding(${n}); the shader declares ${JSON.stringify(vars)}`).toBe(true);
          covered.add(n);
        }
      }
      const all = [...declaredBindings(kernels[0].code).keys()].sort((a, b) => a - b);
      expect([...covered].sort((a, b) => a - b)).toEqual(all);
    });
  }
});

describe('makeDispatch', () => {
  let ctx: GpuContext;
  beforeAll(async () => { ctx = await testGpu(); });
  afterAll(() => releaseGpu(ctx));

  test('every entry point\'s map makes a bind group that passes validation', async () => {
    const usage = GPUBufferUsage.STORAGE;
    for (const kernels of Object.values(kernelsByModule(ctx))) {
      for (const k of kernels) {
        const buffers = Object.fromEntries(Object.keys(k.bindings).filter((n) => n !== 'params')
          .map((n) => [n, ctx.buffers.create(n, 4096, usage)]));
        const params = 'params' in k.bindings ? packParams(new Array(32).fill(0)) : undefined;
        ctx.device.pushErrorScope('validation');
        const d = makeDispatch(ctx, k, params, buffers, [1]);
        const error = await ctx.device.popErrorScope();
        expect(error?.message, `${k.name}:${k.entryPoint ?? 'main'}`).toBeUndefined();
        releaseDispatches(ctx, [d]);
        for (const b of Object.values(buffers)) ctx.buffers.destroy(b);
      }
    }
  });

  const smoke: Kernel<'data'> = { name: 'smoke', code: smokeCode, bindings: { data: 0 } };
  const withParams: Kernel<'params' | 'data'> = { name: 'smoke-params', code: smokeCode, bindings: { params: 0, data: 1 } };
  const refusal = (f: () => unknown): Error => {
    try { f(); } catch (e) { return e as Error; }
    throw new Error('not refused');
  };

  test.each([
    ['a missing buffer', () => makeDispatch(ctx, smoke, undefined, {} as never, [1], 'lonely'),
      /^dispatch 'lonely' \(kernel smoke, entry point main\): no buffer given for binding 'data' \(@binding\(0\)\)/],
    ['an unknown name', () => makeDispatch(ctx, smoke, undefined, { data: ctx.buffers.storage('d', 16), extra: ctx.buffers.storage('e', 16) } as never, [1]),
      /kernel smoke.*: no storage binding named 'extra' \(its storage bindings: data\)/],
    ['parameters for a kernel without a uniform block', () => makeDispatch(ctx, smoke, packParams([1]), { data: ctx.buffers.storage('d', 16) }, [1]),
      /kernel smoke.*: parameters given, but it declares no 'params' binding/],
    ['no parameters for a kernel with a uniform block', () => makeDispatch(ctx, withParams, undefined, { data: ctx.buffers.storage('d', 16) }, [1]),
      /kernel smoke-params.*: no parameters given for its uniform block \('params', @binding\(0\)\)/],
  ])('%s: TypeError naming kernel and binding', (_, make, message) => {
    const e = refusal(make);
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(message);
  });

  test('a refused dispatch frees the buffers it was to own and makes none', () => {
    const data = ctx.buffers.storage('data', 16);
    const before = ctx.buffers.liveCount;
    const spare = ctx.buffers.storage('spare', 16);
    refusal(() => makeDispatch(ctx, smoke, packParams([1]), { data }, [1], 'x', [spare]));
    expect(ctx.buffers.liveCount).toBe(before);
    ctx.buffers.destroy(data);
  });
});
