// int8 and f16 weights against the f32 fixtures: vim_s_224 (Vim-S), int8.
// Asserted: the cosine targets (≥ 0.995 int8, ≥ 0.9999 f16, lowest over
// the case's images) and, for f16, the same top-1 class. Printed: the table
// (max |Δlogit|, cosine, top-1/top-5 agreement, file size). The cases are split
// over several files so each stays near a minute on a software adapter; see
// quant-accuracy-support.ts.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testGpu } from './gpu.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { CASES, COSINE_TARGET, measure, printTable, type AccuracyRow } from './quant-accuracy-support.js';
import type { WeightDType } from '../src/weights/weight-dtype.js';


let ctx: GpuContext;
const rows: AccuracyRow[] = [];
beforeAll(async () => { ctx = await testGpu(); });
afterAll(() => { printTable(rows); releaseGpu(ctx); });

test.each<[string, WeightDType]>([['vim_s_224', 'int8']])('%s: %s', async (name, dtype) => {
  const row = await measure(ctx, CASES[name], dtype);
  rows.push(row);
  expect(row.cosine).toBeGreaterThanOrEqual(COSINE_TARGET[dtype]);
  if (dtype === 'f16') expect(row.top1.split('/')[0]).toBe(row.top1.split('/')[1]);
});
