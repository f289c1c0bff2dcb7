// The matmul with reduced weights (f16 packed two per word, int8 four per word
// with per-row scales) against the float64 reference `linear` applied to the
// dequantized weights: the kernel must compute exactly what the stored weights
// mean, so the tolerance is the f32 one of test/ops-matmul.test.ts
// (1e-5·√K·scale); quantization error itself is measured in quant-accuracy.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import { compare } from './fixtures.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { runDispatches } from '../src/gpu/dispatch.js';
import { matmulDispatch, matmulKernelFor, type MatmulOptions, type MatmulVariant } from '../src/ops/matmul.js';
import type { WeightDType } from '../src/weights/weight-dtype.js';
import { linear, softplus } from '../src/reference/ops.js';
import { decodeF16, dequantizeInt8, encodeF16, quantizeInt8 } from '../src/weights/quantize.js';

let ctx: GpuContext;
beforeAll(async () => { ctx = await testGpu(); });
afterAll(() => releaseGpu(ctx));

function uniform(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}
const tol = (K: number, scale = 1) => 1e-5 * Math.sqrt(K) * scale;

/** Uploads bytes padded to a whole number of words (writeBuffer needs multiples of 4). */
function uploadBytes(label: string, bytes: Uint8Array): GPUBuffer {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  return ctx.buffers.upload(label, padded);
}

/**
 * W as the GPU will hold it, and the f32 values it stands for. `rows` rows of
 * `cols` (the last rows may be pad), quantized per row like the converter does.
 */
function storeW(w: Float32Array, rows: number, type: WeightDType): { buffer: GPUBuffer; scales?: GPUBuffer; values: Float32Array } {
  if (type === 'f16') {
    const bits = encodeF16(w);
    return { buffer: uploadBytes('w16', new Uint8Array(bits.buffer)), values: decodeF16(bits) };
  }
  if (type === 'int8') {
    const { q, scales } = quantizeInt8(w, rows);
    return { buffer: uploadBytes('w8', new Uint8Array(q.buffer)), scales: ctx.buffers.upload('s', scales), values: dequantizeInt8(q, scales) };
  }
  return { buffer: ctx.buffers.upload('w', w), values: w };
}

async function run(o: MatmulOptions, floats: number): Promise<Float32Array> {
  await runDispatches(ctx, [matmulDispatch(ctx, o)]);
  return (await readBuffer(ctx.device, o.y, Math.ceil(floats / 4) * 16)).subarray(0, floats);
}

const TYPES: WeightDType[] = ['f16', 'int8'];

describe.each(TYPES)('matmul with %s weights', (type) => {
  test('odd shapes, direct and tiled, vec4 and scalar loads', async () => {
    // Tiled pipelines take many seconds each to compile on a software adapter, and
    // the tile loader is the same code for every tile shape: 'small' stands for all.
    // Both variants meet every K (vec4 and scalar loads); one epilogue, so 4 pipelines.
    let i = 0;
    for (const M of [1, 197]) for (const N of [5, 44]) for (const K of [2, 12, 13, 192]) {
      const tile: MatmulVariant = M === 197 && N === 44 ? 'small' : 'direct';
      i++;
      const xh = uniform(M * K, i), wh = uniform(N * K, 100 + i), bh = uniform(N, 200 + i);
      const w = storeW(wh, N, type);
      const x = ctx.buffers.upload('x', xh), bias = ctx.buffers.upload('b', bh), y = ctx.buffers.storage('y', M * N * 4);
      const got = await run({ x, w: w.buffer, wType: type, scales: w.scales, y, bias, M, N, K, epilogue: 'bias', tile }, M * N);
      const r = compare(got, linear(xh, M, K, w.values, N, bh), tol(K), 0);
      expect(r.ok, `M=${M} N=${N} K=${K} ${tile}: max |err| ${r.maxAbs}`).toBe(true);
      for (const b of [x, w.buffer, w.scales, bias, y]) if (b) ctx.buffers.destroy(b);
    }
  });

  // x_proj's layout: two directions stacked in one buffer, a group each; padded
  // group strides (for W and, with int8, its scales) catch a stride that is ignored.
  test('two groups with padded strides and offsets (x_proj shape)', async () => {
    const L = 197, E = 96, NO = 44, padW = 8, off = 4, scaleOffset = 3, gsScale = NO + 5;
    const gsW = NO * E + padW, item = type === 'f16' ? 2 : 1;
    const xh = uniform(2 * L * E, 1), wh = uniform(off + 2 * gsW, 2);
    const bytes = new Uint8Array((off + 2 * gsW) * item);
    const scaleData = new Float32Array(scaleOffset + 2 * gsScale).fill(NaN);
    const values = new Float32Array(off + 2 * gsW);
    for (let g = 0; g < 2; g++) {
      const at = off + g * gsW, group = wh.subarray(at, at + NO * E);
      if (type === 'f16') {
        const bits = encodeF16(group);
        bytes.set(new Uint8Array(bits.buffer), at * item);
        values.set(decodeF16(bits), at);
      } else {
        const q = quantizeInt8(group, NO);
        bytes.set(new Uint8Array(q.q.buffer), at);
        scaleData.set(q.scales, scaleOffset + g * gsScale);
        values.set(dequantizeInt8(q.q, q.scales), at);
      }
    }
    for (const tile of ['direct', 'small'] as const) {
      const w = uploadBytes('w', bytes);
      const scales = type === 'int8' ? ctx.buffers.upload('s', scaleData) : undefined;
      // A zero bias: the 'bias' epilogue reuses the pipelines compiled above.
      const x = ctx.buffers.upload('x', xh), y = ctx.buffers.storage('y', 2 * L * NO * 4), bias = ctx.buffers.upload('b', new Float32Array(2 * NO));
      const got = await run({
        x, w, wType: type, scales, y, bias, M: L, N: NO, K: E, groups: 2, wOffset: off, groupStrideW: gsW,
        scaleOffset, groupStrideScale: gsScale, tile, epilogue: 'bias',
      }, 2 * L * NO);
      for (let g = 0; g < 2; g++) {
        const want = linear(xh.subarray(g * L * E), L, E, values.subarray(off + g * gsW), NO);
        const r = compare(got.subarray(g * L * NO, (g + 1) * L * NO), want, tol(E), 0);
        expect(r.ok, `${tile} group ${g}: max |err| ${r.maxAbs}`).toBe(true);
      }
      for (const b of [x, w, scales, y, bias]) if (b) ctx.buffers.destroy(b);
    }
  });

  test.each([{ R: 12, xOffset: 0 }, { R: 2, xOffset: 0 }, { R: 12, xOffset: 1 }])('dt_proj slice + bias + softplus, R = $R, xOffset $xOffset', async ({ R, xOffset }) => {
    const L = 131, E = 384, lda = R + 32;
    const xh = uniform(xOffset + L * lda, 7 + R, 6 / R), wh = uniform(E * R, 8), bh = uniform(E, 9, 8);
    const w = storeW(wh, E, type);
    const x = ctx.buffers.upload('x', xh), bias = ctx.buffers.upload('b', bh), y = ctx.buffers.storage('y', L * E * 4);
    const got = await run({ x, w: w.buffer, wType: type, scales: w.scales, y, bias, M: L, N: E, K: R, lda, xOffset, epilogue: 'bias-softplus' }, L * E);
    const rowsOfX = new Float64Array(L * R);
    for (let i = 0; i < L; i++) for (let k = 0; k < R; k++) rowsOfX[i * R + k] = xh[xOffset + i * lda + k];
    const want = linear(rowsOfX, L, R, w.values, E, bh).map(softplus);
    const r = compare(got, want, tol(R), 1e-6);
    expect(r.ok, `max |err| ${r.maxAbs}`).toBe(true);
    for (const b of [x, w.buffer, w.scales, bias, y]) if (b) ctx.buffers.destroy(b);
  });

  test('unaligned W offset (scalar path) and the head on strided class rows', async () => {
    const B = 3, L = 17, D = 32, C = 10, cls = 8, wOffset = type === 'f16' ? 1 : 3, item = type === 'f16' ? 2 : 1;
    const xh = uniform(B * L * D, 11), wh = uniform(C * D, 12), bh = uniform(C, 13);
    // The matrix starts `wOffset` elements into its buffer, as if another tensor came first.
    const shifted = new Uint8Array((wOffset + C * D) * item);
    let values: Float32Array, scales: GPUBuffer | undefined;
    if (type === 'f16') {
      const bits = encodeF16(wh);
      shifted.set(new Uint8Array(bits.buffer), wOffset * item);
      values = decodeF16(bits);
    } else {
      const q = quantizeInt8(wh, C);
      shifted.set(new Uint8Array(q.q.buffer), wOffset);
      values = dequantizeInt8(q.q, q.scales);
      scales = ctx.buffers.upload('s', q.scales);
    }
    const w = uploadBytes('w', shifted);
    const x = ctx.buffers.upload('x', xh), bias = ctx.buffers.upload('b', bh), y = ctx.buffers.storage('y', B * C * 4);
    const o = { x, w, wType: type, scales, y, bias, M: B, N: C, K: D, lda: L * D, xOffset: cls * D, wOffset, epilogue: 'bias' as const };
    expect(matmulKernelFor(ctx, o).constants?.VEC4).toBe(0);
    const got = await run(o, B * C);
    const classRows = new Float64Array(B * D);
    for (let b = 0; b < B; b++) for (let k = 0; k < D; k++) classRows[b * D + k] = xh[b * L * D + cls * D + k];
    const r = compare(got, linear(classRows, B, D, values, C, bh), tol(D), 0);
    expect(r.ok, `max |err| ${r.maxAbs}`).toBe(true);
    for (const b of [x, w, scales, bias, y]) if (b) ctx.buffers.destroy(b);
  });
});

test('int8 without scales is refused', () => {
  const b = ctx.buffers.storage('b', 64);
  expect(() => matmulDispatch(ctx, { x: b, w: b, y: b, M: 1, N: 1, K: 4, wType: 'int8' })).toThrow(/scales/);
  ctx.buffers.destroy(b);
});
