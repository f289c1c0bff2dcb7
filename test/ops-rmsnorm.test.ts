// Fused residual add + RMSNorm on the GPU vs the float64 reference, on seeded
// random rows, through both reductions (subgroups, workgroup memory) and both
// kernels (vec4 when D % 4 == 0, scalar otherwise).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import { compare } from './fixtures.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { runDispatches } from '../src/gpu/dispatch.js';
import { rmsNormDispatch, rmsNormKernel } from '../src/ops/rmsnorm.js';
import { rmsNorm } from '../src/reference/ops.js';
import { mulberry32 as rng } from './random.js';

// normed is O(|w|·few); float32 keeps ~7 digits through the sum of squares,
// the rsqrt and two products, so 2e-6 relative (+1e-6 absolute near zero).
const ATOL = 1e-6;
const RTOL = 2e-6;
const EPS = 1e-5;

/**
 * Random rows of varied scale, so the norm really rescales: row r is uniform in
 * ±scale with scale from 1e-3 to 30; row 0 is all zeros (normed must be 0, only
 * eps under the root) when there are several rows.
 */
function randomRows(rows: number, dim: number, next: () => number): Float32Array {
  const x = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    if (r === 0 && rows > 1) continue;
    const scale = 10 ** (next() * 4.5 - 3);
    for (let i = 0; i < dim; i++) x[r * dim + i] = (2 * next() - 1) * scale;
  }
  return x;
}

/** Index of the first element where a and b differ bit for bit (−1: identical). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

interface Outcome { normed: Float32Array; residual: Float32Array }

async function runNorm(ctx: GpuContext, residual: Float32Array, hidden: Float32Array | undefined,
  weight: Float32Array, rows: number, dim: number): Promise<Outcome> {
  const bytes = rows * dim * 4;
  const res = ctx.buffers.upload('residual', residual, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  const hid = hidden ? ctx.buffers.upload('hidden', hidden) : undefined;
  const w = ctx.buffers.upload('weight', weight);
  const out = ctx.buffers.storage('normed', bytes);
  await runDispatches(ctx, [rmsNormDispatch(ctx, { residual: res, hidden: hid, weight: w, normed: out, rows, dim, eps: EPS })]);
  const result = { normed: await readBuffer(ctx.device, out, bytes), residual: await readBuffer(ctx.device, res, bytes) };
  for (const b of [res, hid, w, out]) if (b) ctx.buffers.destroy(b);
  return result;
}

const DIMS = [31, 192, 384];
const SHAPES: Array<[number, number]> = [[1, 1], [1, 2], [3, 3], [1, 197], [3, 197], [1, 401], [3, 401]];

for (const useSubgroups of [true, false]) {
  describe(`rmsnorm (${useSubgroups ? 'subgroup' : 'workgroup-memory'} reduction)`, () => {
    let ctx: GpuContext;
    beforeAll(async () => { ctx = await testGpu({ useSubgroups }); });
    afterAll(() => { if (ctx) releaseGpu(ctx); });

    test('uses the reduction it claims to', () => {
      // SwiftShader offers subgroups (size 4); without them this suite would test one path twice.
      expect(ctx.features.subgroups).toBe(useSubgroups);
      expect(rmsNormKernel(ctx, 384, true).name).toBe(useSubgroups ? 'rmsnorm-sg' : 'rmsnorm');
      expect(rmsNormKernel(ctx, 384, true).entryPoint).toBe('add_vec4');
      expect(rmsNormKernel(ctx, 31, false).entryPoint).toBe('first_scalar');
    });

    for (const dim of DIMS) {
      test(`D=${dim}: first mode and add mode, all (B, L)`, async () => {
        const next = rng(1000 * dim + (useSubgroups ? 1 : 2));
        let worst = 0;
        for (const [B, L] of SHAPES) {
          const rows = B * L;
          const weight = new Float32Array(dim).map(() => 0.5 + next());
          const residual = randomRows(rows, dim, next);
          const hidden = randomRows(rows, dim, next);

          // first: normed = RMSNorm(residual)·w, residual untouched.
          const first = await runNorm(ctx, residual, undefined, weight, rows, dim);
          const want1 = rmsNorm(residual, rows, dim, weight, EPS);
          const c1 = compare(first.normed, want1, ATOL, RTOL);
          expect(c1.ok, `first B=${B} L=${L}: max |err| ${c1.maxAbs} at ${c1.worst}`).toBe(true);
          expect(firstDifference(first.residual, residual), 'first mode must not write residual').toBe(-1);

          // add: residual ← residual + hidden (exactly the float32 sum), normed from it.
          const added = await runNorm(ctx, residual, hidden, weight, rows, dim);
          const sum = residual.map((r, i) => Math.fround(r + hidden[i]));
          expect(firstDifference(added.residual, sum), 'residual must hold residual + hidden').toBe(-1);
          const exactSum = Float64Array.from(residual, (r, i) => r + hidden[i]);
          const want2 = rmsNorm(exactSum, rows, dim, weight, EPS);
          const c2 = compare(added.normed, want2, ATOL, RTOL);
          expect(c2.ok, `add B=${B} L=${L}: max |err| ${c2.maxAbs} at ${c2.worst}`).toBe(true);
          worst = Math.max(worst, c1.maxAbs, c2.maxAbs);
        }
        console.log(`rmsnorm ${useSubgroups ? 'sg' : 'wg'} D=${dim}: max |err| ${worst.toExponential(2)}`);
      });
    }

    test('rows beyond one grid dimension (y-split)', async () => {
      // More rows than maxComputeWorkgroupsPerDimension: the tail continues along y.
      const rows = ctx.device.limits.maxComputeWorkgroupsPerDimension + 3;
      const dim = 4;
      const next = rng(77);
      const weight = new Float32Array(dim).map(() => 0.5 + next());
      const residual = randomRows(rows, dim, next);
      const hidden = randomRows(rows, dim, next);
      const out = await runNorm(ctx, residual, hidden, weight, rows, dim);
      const exactSum = Float64Array.from(residual, (r, i) => r + hidden[i]);
      const c = compare(out.normed, rmsNorm(exactSum, rows, dim, weight, EPS), ATOL, RTOL);
      expect(c.ok, `max |err| ${c.maxAbs} at ${c.worst}`).toBe(true);
    });
  });
}
