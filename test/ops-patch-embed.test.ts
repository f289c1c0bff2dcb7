// Fused patch embedding + class token + pos_embed against the float64 reference
// `patchEmbed` (src/reference/ops.ts), with the class token inserted at M//2 and
// pos_embed added here as docs/model.md §2.2 states it.
//
// Tolerance: pixels and weights are uniform in (−1, 1), so each conv output is
// a length-3P² dot product: atol = 1e-5·√(3·P²) (2.8e-4 at P = 16), rtol = 0, the
// same rule as the matmul test (the largest error seen is 4e-5, 7× below it).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import { compare } from './fixtures.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { runDispatches } from '../src/gpu/dispatch.js';
import { kernelKey } from '../src/gpu/pipeline-cache.js';
import { patchEmbedDispatches, patchEmbedKernelFor } from '../src/ops/patch-embed.js';
import type { MatmulVariant } from '../src/ops/matmul.js';
import { gridSize, patchEmbed } from '../src/reference/ops.js';
import { mulberry32 as rng, uniform } from './random.js';

let ctx: GpuContext;
beforeAll(async () => { ctx = await testGpu(); });
afterAll(() => { releaseGpu(ctx); });

/** Layer-0 tokens in float64: per image, patches (M, D) → insert cls at M//2 → + pos_embed. */
function referenceTokens(img: Float32Array, B: number, H: number, W: number, w: Float32Array, bias: Float32Array,
  cls: Float32Array, pos: Float32Array, D: number, P: number, S: number): Float64Array {
  const M = gridSize(H, P, S) * gridSize(W, P, S), L = M + 1, mid = Math.floor(M / 2);
  const out = new Float64Array(B * L * D);
  for (let b = 0; b < B; b++) {
    const patches = patchEmbed(img.subarray(b * 3 * H * W, (b + 1) * 3 * H * W), H, W, w, bias, D, P, S);
    for (let t = 0; t < L; t++) {
      for (let d = 0; d < D; d++) {
        const v = t === mid ? cls[d] : patches[(t < mid ? t : t - 1) * D + d];
        out[(b * L + t) * D + d] = v + pos[t * D + d];
      }
    }
  }
  return out;
}

const cases: Array<{ B: number; H: number; W: number; S: number; D: number; P?: number; tile?: MatmulVariant; note: string }> = [
  { B: 1, H: 64, W: 64, S: 16, D: 192, tile: 'small', note: 'square, stride 16' },
  { B: 3, H: 64, W: 64, S: 16, D: 40, tile: 'medium', note: 'batch 3, D not a tile multiple' },
  { B: 1, H: 72, W: 56, S: 8, D: 192, note: 'non-square, stride 8' },
  { B: 3, H: 72, W: 56, S: 8, D: 24, tile: 'large', note: 'non-square, stride 8, batch 3' },
  { B: 1, H: 50, W: 50, S: 16, D: 96, tile: 'small', note: 'size 50: remainder dropped' },
  { B: 3, H: 50, W: 50, S: 8, D: 40, tile: 'tall', note: 'size 50, stride 8, batch 3' },
  { B: 1, H: 224, W: 224, S: 16, D: 192, note: 'Vim-Ti at 224' },
  { B: 2, H: 30, W: 23, S: 5, D: 20, P: 7, tile: 'small', note: 'odd patch size 7 (scalar weight loads)' },
  { B: 2, H: 30, W: 23, S: 5, D: 20, P: 7, note: 'odd patch size 7' },
];

test.each(cases)('patch embed + cls + pos: $note (B=$B, $H×$W, D=$D)', async ({ B, H, W, S, D, P = 16, tile }) => {
  const K = 3 * P * P;
  const M = gridSize(H, P, S) * gridSize(W, P, S), L = M + 1;
  const rand = rng(B * 1000 + H * 10 + S + D);
  const img = uniform(B * 3 * H * W, rand), w = uniform(D * K, rand);
  const bias = uniform(D, rand), cls = uniform(D, rand), pos = uniform(L * D, rand);
  const up = (name: string, a: Float32Array) => ctx.buffers.upload(name, a);
  const bufs = { image: up('image', img), weight: up('w', w), bias: up('bias', bias), clsToken: up('cls', cls), posEmbed: up('pos', pos) };
  // NaN everywhere first: a token row the kernel forgot would show up.
  const tokens = ctx.buffers.upload('tokens', new Float32Array(B * L * D).fill(NaN), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  const dispatches = patchEmbedDispatches(ctx, { ...bufs, tokens, B, H, W, D, P, stride: S, tile });
  expect(dispatches[0].kernel).toBe(kernelKey(patchEmbedKernelFor(ctx, { B, H, W, D, P, stride: S, tile })));
  await runDispatches(ctx, dispatches);
  const got = (await readBuffer(ctx.device, tokens, Math.ceil(B * L * D / 4) * 16)).subarray(0, B * L * D);
  const want = referenceTokens(img, B, H, W, w, bias, cls, pos, D, P, S);
  const r = compare(got, want, 1e-5 * Math.sqrt(K), 0);
  console.log(`patch embed B=${B} ${H}x${W} P=${P}/${S} D=${D} ${dispatches[0].kernel}: max |err| ${r.maxAbs.toExponential(2)}`);
  expect(r.ok, `max |err| ${r.maxAbs} at ${r.worst}`).toBe(true);
  // The class-token rows are a plain sum of two f32 values: exact to rounding.
  const mid = Math.floor(M / 2);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) expect(got[(b * L + mid) * D + d]).toBe(Math.fround(cls[d] + pos[mid * D + d]));
  }
  for (const buf of [...Object.values(bufs), tokens]) ctx.buffers.destroy(buf);
});

test('argument checks', () => {
  const x = ctx.buffers.storage('x', 64);
  const o = { image: x, weight: x, bias: x, clsToken: x, posEmbed: x, tokens: x, B: 1, D: 8, P: 16, stride: 16 };
  expect(() => patchEmbedDispatches(ctx, { ...o, H: 8, W: 64 })).toThrow(/smaller than one 16x16 patch/);
  expect(() => patchEmbedDispatches(ctx, { ...o, H: 64, W: 64, stride: 0 })).toThrow(/stride/);
  ctx.buffers.destroy(x);
});
