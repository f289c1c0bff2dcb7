// The tiled matmul against the float64 reference `linear` (src/reference/ops.ts)
// on odd shapes, every tile and load path, groups, strided rows and column
// slices, and the bias / bias+softplus epilogues.
//
// Tolerance: inputs are uniform in (−1, 1) (scaled up for softplus), so an f32
// dot product of length K carries a rounding error that grows like √K. We allow
// atol = 1e-5·√K·scale with rtol = 0: about 10× the largest error seen, yet
// 1000× below what a single dropped or doubled term (≈ |x·w| ~ 0.25) would cost.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import { compare } from './fixtures.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { runDispatches, type Dispatch } from '../src/gpu/dispatch.js';
import { kernelKey } from '../src/gpu/pipeline-cache.js';
import { matmulDispatch, matmulKernelFor, matmulKernels, pickVariant, type MatmulEpilogue, type MatmulVariant } from '../src/ops/matmul.js';
import { linear, softplus } from '../src/reference/ops.js';
import { mulberry32 as rng, uniform } from './random.js';

let ctx: GpuContext;
beforeAll(async () => { ctx = await testGpu(); });
afterAll(() => { releaseGpu(ctx); });

/** Rows [offset + i·stride, + cols) of a flat array, packed: the matrix the kernel should see. */
function rows(src: ArrayLike<number>, count: number, cols: number, stride: number, offset = 0): Float64Array {
  const out = new Float64Array(count * cols);
  for (let i = 0; i < count; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = src[offset + i * stride + j];
  return out;
}
const tol = (K: number, scale = 1) => 1e-5 * Math.sqrt(K) * scale;

async function run(d: Dispatch, y: GPUBuffer, floats: number): Promise<Float32Array> {
  await runDispatches(ctx, [d]);
  return readBuffer(ctx.device, y, Math.ceil(floats / 4) * 16).then((a) => a.subarray(0, floats));
}

describe('matmul', () => {
  // Which kernel serves which case of the odd-shape test below. Every variant meets
  // every K (both load paths); the epilogue is shared code (store()), so the costly
  // tiled pipelines (1–3 s each to compile on SwiftShader) are built with 'bias' only.
  const VARIANTS: MatmulVariant[] = ['direct', 'small', 'medium', 'tall', 'large'];
  const oddCase = (mi: number, ni: number, ki: number): { tile: MatmulVariant; epilogue: MatmulEpilogue } => {
    const tile = VARIANTS[(mi + ni + ki) % VARIANTS.length];
    const cheap = tile === 'direct' || tile === 'small';
    return { tile, epilogue: cheap && mi % 2 === 0 ? 'none' : 'bias' };
  };

  test('pipelines: warm-up list and variant choice', async () => {
    expect(matmulKernels()).toHaveLength(30);
    const shapes = VARIANTS.flatMap((tile) => [12, 13].flatMap((K) => (['none', 'bias'] as const)
      .map((epilogue) => ({ M: 3, N: 5, K, tile, epilogue }))));
    const used = shapes.filter((sh) => sh.epilogue === 'bias' || sh.tile === 'direct' || sh.tile === 'small');
    const kernels = used.map((sh) => matmulKernelFor(ctx, sh));
    await ctx.pipelines.warm(kernels);
    expect(new Set(kernels.map(kernelKey)).size).toBe(14);
    expect(matmulKernelFor(ctx, { M: 3, N: 5, K: 12, lda: 44, xOffset: 2 }).constants?.VEC4).toBe(0);
    expect(matmulKernelFor(ctx, { M: 3, N: 5, K: 12, lda: 44, xOffset: 4 }).constants?.VEC4).toBe(1);
    expect(pickVariant(1, 1000)).toBe('direct');
    expect(pickVariant(197, 768, 1, true)).toBe('direct');
    expect(pickVariant(197, 192)).toBe('direct');
    expect(pickVariant(197, 768)).toBe('small');
    expect(pickVariant(197 * 8, 768)).toBe('medium');
    expect(pickVariant(197 * 64, 44, 2)).toBe('medium');
    expect(pickVariant(197 * 64, 768)).toBe('tall');
  });

  // 64 shapes: M ∈ {1, 3, 197, 401}, N ∈ {1, 5, 44, 768}, K ∈ {2, 12, 13, 192}.
  test('odd shapes, every variant, none/bias', async () => {
    const rand = rng(1);
    const Ms = [1, 3, 197, 401], Ns = [1, 5, 44, 768], Ks = [2, 12, 13, 192];
    const worst: Record<string, number> = {};
    for (const [mi, M] of Ms.entries()) for (const [ni, N] of Ns.entries()) for (const [ki, K] of Ks.entries()) {
      const { tile, epilogue } = oddCase(mi, ni, ki);
      const xh = uniform(M * K, rand), wh = uniform(N * K, rand), bh = uniform(N, rand);
      const b = ctx.buffers;
      const x = b.upload('x', xh), w = b.upload('w', wh), bias = b.upload('b', bh), y = b.storage('y', M * N * 4);
      const got = await run(matmulDispatch(ctx, { x, w, y, bias, M, N, K, epilogue, tile }), y, M * N);
      const want = linear(xh, M, K, wh, N, epilogue === 'bias' ? bh : undefined);
      const r = compare(got, want, tol(K), 0);
      worst[tile] = Math.max(worst[tile] ?? 0, r.maxAbs / tol(K));
      expect(r.ok, `M=${M} N=${N} K=${K} ${tile} ${epilogue}: max |err| ${r.maxAbs}`).toBe(true);
      for (const buf of [x, w, bias, y]) b.destroy(buf);
    }
    console.log(`odd shapes: worst |err| / tolerance per variant: ${JSON.stringify(worst)}`);
  });

  // x_proj shape: X = u (2, L, E) read per direction, W stacked (2, R+2N, E), plus a bias
  // per group. Group strides are padded so a wrong stride reads the pad (NaN) instead of
  // the next group by luck.
  test('groups with strides (x_proj shape, padded groups, bias)', async () => {
    const rand = rng(2);
    const L = 197, E = 96, NO = 44, padX = 20, padW = 8, padY = 12, padB = 3;
    const gsX = L * E + padX, gsW = NO * E + padW, gsY = L * NO + padY, gsB = NO + padB;
    const xh = uniform(2 * gsX, rand), wh = uniform(2 * gsW, rand), bh = uniform(2 * gsB, rand);
    for (let g = 0; g < 2; g++) {
      xh.fill(NaN, g * gsX + L * E, (g + 1) * gsX);
      wh.fill(NaN, g * gsW + NO * E, (g + 1) * gsW);
      bh.fill(NaN, g * gsB + NO, (g + 1) * gsB);
    }
    for (const tile of ['direct', 'small', 'tall', 'large'] as const) {
      const b = ctx.buffers;
      const x = b.upload('x', xh), w = b.upload('w', wh), bias = b.upload('b', bh), y = b.storage('y', 2 * gsY * 4);
      const got = await run(matmulDispatch(ctx, {
        x, w, y, bias, M: L, N: NO, K: E, groups: 2, epilogue: 'bias', tile,
        groupStrideX: gsX, groupStrideW: gsW, groupStrideY: gsY, groupStrideBias: gsB,
      }), y, 2 * gsY);
      for (let g = 0; g < 2; g++) {
        const want = linear(xh.subarray(g * gsX, g * gsX + L * E), L, E, wh.subarray(g * gsW), NO, bh.subarray(g * gsB));
        const r = compare(got.subarray(g * gsY, g * gsY + L * NO), want, tol(E), 0);
        expect(r.ok, `${tile} group ${g}: max |err| ${r.maxAbs}`).toBe(true);
      }
      for (const buf of [x, w, bias, y]) b.destroy(buf);
    }
  });

  // dt_proj: X = dt_low, the first R columns of xdbl (2, L, R+2N) (lda = R+2N), W (2, E, R),
  // bias (2, E), softplus. Biases in ±24 plus products in ±6 put the pre-activations in
  // [−30, 30]: across the threshold 20 and down to e^-30, where only an accurate log1p keeps
  // the relative precision, so the log of the result is checked too (log(1 + e^v) in f32
  // returns 0 there, whose log is −∞).
  test.each([
    { R: 12, NS: 16, E: 384, xOffset: 0, tile: undefined, note: 'Vim-Ti, vec4 loads' },
    { R: 12, NS: 16, E: 384, xOffset: 0, tile: 'small' as const, note: 'Vim-Ti, vec4 loads, tiled' },
    { R: 2, NS: 16, E: 64, xOffset: 0, tile: undefined, note: 'tiny model, K = 2, scalar loads' },
    { R: 12, NS: 16, E: 384, xOffset: 1, tile: undefined, note: 'odd offset, scalar loads' },
  ])('dt_proj slice + bias + softplus: $note', async ({ R, NS, E, xOffset, tile }) => {
    const rand = rng(3 + R + xOffset);
    const L = 131, lda = R + 2 * NS;
    const xh = uniform(xOffset + 2 * L * lda, rand, 6 / R), wh = uniform(2 * E * R, rand);
    const bh = uniform(2 * E, rand, 24);
    const x = ctx.buffers.upload('x', xh), w = ctx.buffers.upload('w', wh), bias = ctx.buffers.upload('b', bh);
    const y = ctx.buffers.storage('y', 2 * L * E * 4);
    const got = await run(matmulDispatch(ctx, {
      x, w, y, bias, M: L, N: E, K: R, lda, xOffset, groups: 2, epilogue: 'bias-softplus', tile,
    }), y, 2 * L * E);
    let lo = Infinity, hi = -Infinity;
    for (let g = 0; g < 2; g++) {
      const pre = linear(rows(xh, L, R, lda, xOffset + g * L * lda), L, R, wh.subarray(g * E * R), E, bh.subarray(g * E));
      for (const v of pre) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const want = pre.map(softplus), part = got.subarray(g * L * E, (g + 1) * L * E);
      const r = compare(part, want, tol(R), 1e-6); // Δ reaches 30: allow ~8 ulp relative as well
      expect(r.ok, `group ${g}: max |err| ${r.maxAbs}`).toBe(true);
      const rl = compare(Array.from(part, Math.log), want.map(Math.log), 1e-4, 0);
      expect(rl.ok, `group ${g}: max |log err| ${rl.maxAbs} at ${rl.worst}`).toBe(true);
    }
    expect(lo).toBeLessThan(-24);
    expect(hi).toBeGreaterThan(24);
    for (const buf of [x, w, bias, y]) ctx.buffers.destroy(buf);
  });

  // Head: only the class-token row of each image, X row b at b·L·D + cls·D (lda = L·D).
  test.each([{ D: 192, note: 'vec4' }, { D: 30, note: 'scalar' }])('head on strided class rows, B = 3 ($note)', async ({ D }) => {
    const rand = rng(4 + D);
    const B = 3, L = 197, cls = 98, C = 1000;
    const xh = uniform(B * L * D, rand), wh = uniform(C * D, rand), bh = uniform(C, rand);
    const x = ctx.buffers.upload('x', xh), w = ctx.buffers.upload('w', wh), bias = ctx.buffers.upload('b', bh);
    const y = ctx.buffers.storage('y', B * C * 4);
    const got = await run(matmulDispatch(ctx, {
      x, w, y, bias, M: B, N: C, K: D, lda: L * D, xOffset: cls * D, epilogue: 'bias',
    }), y, B * C);
    const want = linear(rows(xh, B, D, L * D, cls * D), B, D, wh, C, bh);
    const r = compare(got, want, tol(D), 0);
    expect(r.ok, `max |err| ${r.maxAbs}`).toBe(true);
    for (const buf of [x, w, bias, y]) ctx.buffers.destroy(buf);
  });

  // ldy and yOffset: write a (M, N) product into columns [5, 5+N) of a wider matrix; the
  // rest of the output must keep its sentinel.
  test('ldy / yOffset write a column slice and nothing else', async () => {
    const rand = rng(5);
    const M = 67, N = 37, K = 20, ldy = 50, yOffset = 5;
    const xh = uniform(M * K, rand), wh = uniform(N * K, rand);
    const x = ctx.buffers.upload('x', xh), w = ctx.buffers.upload('w', wh);
    const y = ctx.buffers.upload('y', new Float32Array(M * ldy).fill(-7), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const bh = uniform(N, rand), bias = ctx.buffers.upload('b', bh);
    const got = await run(matmulDispatch(ctx, { x, w, y, bias, M, N, K, ldy, yOffset, epilogue: 'bias', tile: 'medium' }), y, M * ldy);
    const want = linear(xh, M, K, wh, N, bh);
    const r = compare(rows(got, M, N, ldy, yOffset), want, tol(K), 0);
    expect(r.ok, `max |err| ${r.maxAbs}`).toBe(true);
    for (let i = 0; i < M; i++) for (let j = 0; j < ldy; j++) {
      if (j < yOffset || j >= yOffset + N) expect(got[i * ldy + j]).toBe(-7);
    }
    for (const buf of [x, w, bias, y]) ctx.buffers.destroy(buf);
  });

  test('argument checks', () => {
    const x = ctx.buffers.storage('x', 64);
    expect(() => matmulDispatch(ctx, { x, w: x, y: x, M: 2, N: 2, K: 4, lda: 3 })).toThrow(/lda/);
    expect(() => matmulDispatch(ctx, { x, w: x, y: x, M: 2, N: 2, K: 4, epilogue: 'bias' })).toThrow(/bias/);
    expect(() => matmulDispatch(ctx, { x, w: x, y: x, M: 0, N: 2, K: 4 })).toThrow(/M = 0/);
    ctx.buffers.destroy(x);
  });
});
