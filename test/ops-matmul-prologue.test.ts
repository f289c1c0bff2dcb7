// The matmul's prologues (X formed where it is loaded: shaders/matmul.wgsl)
// against the float64 reference ops on fresh random inputs, for the tiled and
// the direct kernels, vec4 and scalar load paths, odd row counts and batches:
//  - rmsnorm: in_proj = RMSNorm(res [+ hid])·w · Wᵀ, and res + hid written once;
//  - conv-silu: x_proj = SiLU(conv1d(x)) · Wᵀ for both directions (groups);
//  - sum2: out_proj = (y2[0] + y2[1]) · Wᵀ.
// Tolerance as in ops-matmul.test.ts: atol = 1e-5·√K·scale (rtol 0), 10× the
// largest error seen and far below what one wrong term would cost.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import { compare } from './fixtures.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { runDispatches } from '../src/gpu/dispatch.js';
import { matmulDispatch, type MatmulKernelVariant } from '../src/ops/matmul.js';
import { conv1dSilu, linear, rmsNorm } from '../src/reference/ops.js';
import { mulberry32 as rng, uniform } from './random.js';

let ctx: GpuContext;
beforeAll(async () => { ctx = await testGpu(); });
afterAll(() => { releaseGpu(ctx); });

const tol = (K: number, scale = 1) => 1e-5 * Math.sqrt(K) * scale;
const up = (name: string, a: Float32Array, extra = 0) => ctx.buffers.upload(`test.${name}`, a, GPUBufferUsage.STORAGE | extra);
const out = (name: string, floats: number) => up(name, new Float32Array(Math.ceil(floats / 4) * 4).fill(NaN), GPUBufferUsage.COPY_SRC);
const read = (b: GPUBuffer, floats: number) => readBuffer(ctx.device, b, Math.ceil(floats / 4) * 16).then((a) => a.subarray(0, floats));

describe('rmsnorm prologue (in_proj)', () => {
  const cases: Array<{ M: number; K: number; N: number; tile: MatmulKernelVariant; add: boolean }> = [
    { M: 197, K: 32, N: 64, tile: 'medium', add: true },
    { M: 130, K: 24, N: 72, tile: 'tall', add: false },
    { M: 65, K: 13, N: 10, tile: 'small', add: true },   // scalar loads, K not a multiple of 4
    { M: 7, K: 32, N: 48, tile: 'direct', add: true },
    { M: 5, K: 9, N: 6, tile: 'direct', add: false },
    { M: 65, K: 13, N: 70, tile: 'rows', add: true },    // two column blocks, scalar loads
    { M: 9, K: 32, N: 64, tile: 'rows', add: false },
  ];
  for (const c of cases) {
    test(`${c.tile} M=${c.M} K=${c.K} N=${c.N} ${c.add ? 'add' : 'first'}`, async () => {
      const next = rng(c.M * 31 + c.K * 7 + c.N);
      const res = uniform(c.M * c.K, next, 2), hid = uniform(c.M * c.K, next, 2);
      const wn = uniform(c.K, next, 1.5), w = uniform(c.N * c.K, next, 1);
      const sum = c.add ? res.map((v, i) => v + hid[i]) : res;
      const want = linear(rmsNorm(sum, c.M, c.K, wn, 1e-5), c.M, c.K, w, c.N);
      const [bRes, bHid, bWn, bW] = [up('res', res), up('hid', hid), up('wn', wn), up('w', w)];
      const bY = out('y', c.M * c.N), bOut = out('resOut', c.M * c.K);
      const d = matmulDispatch(ctx, {
        x: bRes, w: bW, y: bY, M: c.M, N: c.N, K: c.K, tile: c.tile,
        prologue: c.add ? { kind: 'rmsnorm', weight: bWn, eps: 1e-5, hidden: bHid, residualOut: bOut } : { kind: 'rmsnorm', weight: bWn, eps: 1e-5 },
      });
      await runDispatches(ctx, [d]);
      // RMSNorm output is O(|wn|) = 1.5: scale the tolerance with it.
      const r = compare(await read(bY, c.M * c.N), want, tol(c.K, 1.5), 0);
      expect(r.ok, `max |err| ${r.maxAbs} at ${r.worst}`).toBe(true);
      if (c.add) {
        // The sum res + hid is one f32 addition: exact.
        expect(Array.from(await read(bOut, c.M * c.K))).toEqual(Array.from(sum));
      }
      for (const b of [bRes, bHid, bWn, bW, bY, bOut, ...d.owned]) ctx.buffers.destroy(b);
    });
  }
});

describe('conv-silu prologue (x_proj, both directions)', () => {
  const cases: Array<{ B: number; L: number; E: number; N: number; K: number; tile: MatmulKernelVariant }> = [
    { B: 1, L: 197, E: 32, N: 20, K: 4, tile: 'direct' },
    { B: 3, L: 17, E: 24, N: 44, K: 4, tile: 'small' },
    { B: 2, L: 65, E: 30, N: 11, K: 4, tile: 'medium' },  // scalar loads (E = 30 keeps rows unaligned)
    { B: 1, L: 3, E: 16, N: 8, K: 4, tile: 'direct' },    // shorter than the conv
    { B: 2, L: 1, E: 8, N: 5, K: 2, tile: 'direct' },     // one token, conv width 2
    { B: 1, L: 197, E: 32, N: 44, K: 4, tile: 'rows' },   // Vim-Ti's x_proj width: one block per row
    { B: 2, L: 65, E: 30, N: 70, K: 4, tile: 'rows' },    // two column blocks, scalar loads
  ];
  for (const c of cases) {
    test(`${c.tile} B=${c.B} L=${c.L} E=${c.E} N=${c.N} K=${c.K}`, async () => {
      const next = rng(c.B * 1000 + c.L * 7 + c.E);
      const rows = c.B * c.L;
      const xz = uniform(rows * 2 * c.E, next, 2);
      const cw = uniform(2 * c.E * c.K, next, 0.7), cb = uniform(2 * c.E, next, 0.3);
      const w = uniform(2 * c.N * c.E, next, 1);
      const want = new Float64Array(2 * rows * c.N);
      for (let dir = 0; dir < 2; dir++) {
        for (let b = 0; b < c.B; b++) {
          const x = new Float64Array(c.L * c.E);
          for (let t = 0; t < c.L; t++) for (let e = 0; e < c.E; e++) x[t * c.E + e] = xz[(b * c.L + t) * 2 * c.E + e];
          const u = conv1dSilu(x, c.L, c.E, cw.subarray(dir * c.E * c.K, (dir + 1) * c.E * c.K), cb.subarray(dir * c.E, (dir + 1) * c.E), c.K, dir === 1);
          want.set(linear(u, c.L, c.E, w.subarray(dir * c.N * c.E, (dir + 1) * c.N * c.E), c.N), (dir * rows + b * c.L) * c.N);
        }
      }
      const [bXz, bCw, bCb, bW] = [up('xz', xz), up('cw', cw), up('cb', cb), up('w', w)];
      const bY = out('y', 2 * rows * c.N);
      const d = matmulDispatch(ctx, {
        x: bXz, w: bW, y: bY, M: rows, N: c.N, K: c.E, lda: 2 * c.E, tile: c.tile,
        prologue: { kind: 'conv-silu', weight: bCw, bias: bCb, seq: c.L, taps: c.K },
        groups: 2, groupStrideX: 0, groupStrideW: c.N * c.E, groupStrideY: rows * c.N,
      });
      await runDispatches(ctx, [d]);
      const r = compare(await read(bY, 2 * rows * c.N), want, tol(c.E, 2), 0);
      expect(r.ok, `max |err| ${r.maxAbs} at ${r.worst}`).toBe(true);
      for (const b of [bXz, bCw, bCb, bW, bY, ...d.owned]) ctx.buffers.destroy(b);
    });
  }

  test('refuses a row count that is not whole images', () => {
    const b = up('tiny', new Float32Array(64));
    expect(() => matmulDispatch(ctx, {
      x: b, w: b, y: b, M: 10, N: 2, K: 4, prologue: { kind: 'conv-silu', weight: b, bias: b, seq: 3, taps: 4 },
    })).toThrow(/multiple of seq/);
    ctx.buffers.destroy(b);
  });
});

describe('sum2 prologue (out_proj over the two scan halves)', () => {
  for (const c of [{ M: 197, K: 64, N: 32, tile: 'direct' as const }, { M: 101, K: 30, N: 70, tile: 'medium' as const }, { M: 33, K: 16, N: 65, tile: 'rows' as const }]) {
    test(`${c.tile} M=${c.M} K=${c.K} N=${c.N}`, async () => {
      const next = rng(c.M + c.K + c.N);
      const y2 = uniform(2 * c.M * c.K, next, 1), w = uniform(c.N * c.K, next, 1);
      const x = new Float64Array(c.M * c.K).map((_, i) => y2[i] + y2[i + c.M * c.K]);
      const [bX, bW] = [up('y2', y2), up('w', w)];
      const bY = out('y', c.M * c.N);
      const d = matmulDispatch(ctx, { x: bX, w: bW, y: bY, M: c.M, N: c.N, K: c.K, tile: c.tile, prologue: { kind: 'sum2', pair: c.M * c.K } });
      await runDispatches(ctx, [d]);
      const r = compare(await read(bY, c.M * c.N), linear(x, c.M, c.K, w, c.N), tol(c.K, 2), 0);
      expect(r.ok, `max |err| ${r.maxAbs} at ${r.worst}`).toBe(true);
      for (const b of [bX, bW, bY, ...d.owned]) ctx.buffers.destroy(b);
    });
  }
});
