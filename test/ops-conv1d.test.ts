// Depthwise conv1d + SiLU for both directions on the GPU vs the float64
// reference, on seeded random inputs: vec4 kernel (E % 4 == 0) and scalar
// kernel (E = 30, 66), token counts that are not multiples of anything.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import { compare } from './fixtures.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { runDispatches } from '../src/gpu/dispatch.js';
import { conv1dSiluDispatch, conv1dSiluKernel } from '../src/ops/conv1d.js';
import { conv1dSilu } from '../src/reference/ops.js';
import { mulberry32 as rng } from './random.js';

// u = SiLU(bias + 4 products): O(1) values, a handful of float32 roundings
// plus exp; 2e-6 relative, 1e-6 absolute near zero.
const ATOL = 1e-6;
const RTOL = 2e-6;

function uniform(n: number, scale: number, next: () => number): Float32Array {
  return new Float32Array(n).map(() => (2 * next() - 1) * scale);
}

/** The reference u (2, B, L, E), built per direction and image from x = xz[:, :, 0:E]. */
function referenceU(xz: Float32Array, weight: Float32Array, bias: Float32Array, B: number, L: number, E: number, K: number): Float64Array {
  const u = new Float64Array(2 * B * L * E);
  for (let dir = 0; dir < 2; dir++) {
    const w = weight.subarray(dir * E * K, (dir + 1) * E * K);
    const b = bias.subarray(dir * E, (dir + 1) * E);
    for (let img = 0; img < B; img++) {
      const x = new Float64Array(L * E);
      for (let t = 0; t < L; t++) {
        for (let e = 0; e < E; e++) x[t * E + e] = xz[(img * L + t) * 2 * E + e];
      }
      u.set(conv1dSilu(x, L, E, w, b, K, dir === 1), ((dir * B + img) * L) * E);
    }
  }
  return u;
}

async function runConv(ctx: GpuContext, xz: Float32Array, weight: Float32Array, bias: Float32Array,
  B: number, L: number, E: number, K: number): Promise<Float32Array> {
  const bytes = 2 * B * L * E * 4;
  const xzBuf = ctx.buffers.upload('xz', xz);
  const wBuf = ctx.buffers.upload('conv.weight', weight);
  const bBuf = ctx.buffers.upload('conv.bias', bias);
  const uBuf = ctx.buffers.storage('u', bytes);
  await runDispatches(ctx, [conv1dSiluDispatch(ctx, { xz: xzBuf, weight: wBuf, bias: bBuf, u: uBuf, B, L, E, K })]);
  const u = await readBuffer(ctx.device, uBuf, bytes);
  for (const b of [xzBuf, wBuf, bBuf, uBuf]) ctx.buffers.destroy(b);
  return u;
}

describe('conv1d + SiLU, both directions', () => {
  let ctx: GpuContext;
  beforeAll(async () => { ctx = await testGpu(); });
  afterAll(() => { if (ctx) releaseGpu(ctx); });

  test('kernel choice: vec4 only when E % 4 == 0', () => {
    expect(conv1dSiluKernel(384, 4).entryPoint).toBe('conv_vec4');
    expect(conv1dSiluKernel(66, 4).entryPoint).toBe('conv_scalar');
    expect(conv1dSiluKernel(30, 4).entryPoint).toBe('conv_scalar');
  });

  for (const E of [30, 66, 384]) {
    test(`E=${E}, K=4: L ∈ {1, 2, 3, 197, 401}, B ∈ {1, 3}`, async () => {
      const K = 4;
      const next = rng(31 * E + 7);
      let worst = 0;
      for (const L of [1, 2, 3, 197, 401]) {
        for (const B of [1, 3]) {
          // z (columns E..2E−1) is random too: the kernel must not read it.
          const xz = uniform(B * L * 2 * E, 2, next);
          const weight = uniform(2 * E * K, 0.8, next);
          const bias = uniform(2 * E, 0.5, next);
          const got = await runConv(ctx, xz, weight, bias, B, L, E, K);
          const c = compare(got, referenceU(xz, weight, bias, B, L, E, K), ATOL, RTOL);
          expect(c.ok, `B=${B} L=${L}: max |err| ${c.maxAbs} at ${c.worst}`).toBe(true);
          worst = Math.max(worst, c.maxAbs);
        }
      }
      console.log(`conv1d E=${E}: max |err| ${worst.toExponential(2)}`);
    });
  }

  test('directions and taps are not interchangeable (one-hot check)', async () => {
    // A single 1 at token t0, channel e0, and weight w[e0, k] = 10^k (bias 0):
    // forward output at t0 + j must be SiLU(10^(K−1−j)), backward at t0 − j the same.
    const B = 1, L = 9, E = 8, K = 4, t0 = 4, e0 = 5;
    const xz = new Float32Array(L * 2 * E);
    xz[t0 * 2 * E + e0] = 1;
    const weight = new Float32Array(2 * E * K);
    for (let dir = 0; dir < 2; dir++) for (let k = 0; k < K; k++) weight[(dir * E + e0) * K + k] = 10 ** k * (dir === 0 ? 1 : -1);
    const got = await runConv(ctx, xz, weight, new Float32Array(2 * E), B, L, E, K);
    const silu = (v: number) => v / (1 + Math.exp(-v));
    for (let j = 0; j < K; j++) {
      const tap = 10 ** (K - 1 - j);
      expect(got[(t0 + j) * E + e0]).toBeCloseTo(silu(tap), 5);
      expect(got[(L + t0 - j) * E + e0]).toBeCloseTo(silu(-tap), 5);
    }
  });

  test('more workgroups than one grid dimension holds (y-split)', async () => {
    // E = 1 (scalar kernel): one invocation per token, so L just past
    // 64 · maxComputeWorkgroupsPerDimension tokens needs a second row of workgroups.
    const B = 1, E = 1, K = 4;
    const L = 64 * ctx.device.limits.maxComputeWorkgroupsPerDimension + 5;
    const next = rng(4242);
    const xz = uniform(B * L * 2 * E, 2, next);
    const weight = uniform(2 * E * K, 0.8, next);
    const bias = uniform(2 * E, 0.5, next);
    const got = await runConv(ctx, xz, weight, bias, B, L, E, K);
    const c = compare(got, referenceU(xz, weight, bias, B, L, E, K), ATOL, RTOL);
    expect(c.ok, `max |err| ${c.maxAbs} at ${c.worst}`).toBe(true);
  });

  test('K = 3 and K = 5 (override, not a fixed 4)', async () => {
    const B = 3, L = 197, E = 66;
    for (const K of [3, 5]) {
      const next = rng(900 + K);
      const xz = uniform(B * L * 2 * E, 2, next);
      const weight = uniform(2 * E * K, 0.8, next);
      const bias = uniform(2 * E, 0.5, next);
      const got = await runConv(ctx, xz, weight, bias, B, L, E, K);
      const c = compare(got, referenceU(xz, weight, bias, B, L, E, K), ATOL, RTOL);
      expect(c.ok, `K=${K}: max |err| ${c.maxAbs} at ${c.worst}`).toBe(true);
    }
  });
});
