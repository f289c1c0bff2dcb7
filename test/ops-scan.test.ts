// The fused scan (conv1d + SiLU and dt_proj + softplus in its staging, both
// directions) against the float64 reference (src/reference/ops.ts): each
// direction's half of y2 = ½·o_dir for random, realistically scaled inputs, at
// sizes that hit the chunk and channel-tile edges on purpose, under both
// schedules. The packed constants come from the real packing kernel.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compare } from './fixtures.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/gpu/node.js';
import { runDispatches, type Dispatch } from '../src/gpu/dispatch.js';
import { conv1dSilu, linear, selectiveScan, softplus } from '../src/reference/ops.js';
import { scanConstantsDispatch, scanConstantsStride, scanDispatches, scanScratchBytes, chooseScanSchedule, type ScanSchedule } from '../src/ops/scan.js';
import { carrySegments, chooseScanReduction, DEFAULT_CHUNK, defaultScanChunk, LONG_CHUNK, SINGLE_CHUNK, scanLanes, selectVariant, type ScanReduction } from '../src/ops/scan-chunked.js';
import { mulberry32 } from './random.js';

// f32 kernels vs the f64 reference; stated once, never loosened. Over 6085
// steps the f32 state drifts by ~1e-6 relative; 1e-4 leaves room for exp2 vs exp.
const ATOL = 1e-4, RTOL = 1e-4;

interface Shape { B: number; L: number; E: number; N: number; R: number; K?: number }
interface HostCase extends Required<Shape> {
  xz: Float32Array; xdbl: Float32Array; convW: Float32Array; convB: Float32Array;
  dtW: Float32Array; dtB: Float32Array; aLog: Float32Array; d: Float32Array;
}

async function scanTestGpu(useSubgroups: boolean): Promise<GpuContext> {
  const gpu = await nodeGpu(['disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension']);
  return acquireGpu({ gpu, useSubgroups });
}

function makeCase(s: Shape, seed: number): HostCase {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  const { B, L, E, N, R } = s;
  const K = s.K ?? 4;
  const W = R + 2 * N;
  return {
    ...s, K,
    xz: fill(B * L * 2 * E, gauss),                               // x (conv input) and z ~ N(0, 1)
    xdbl: fill(2 * B * L * W, () => 0.5 * gauss()),               // dt-rank part, B, C ~ N(0, 0.5²)
    convW: fill(2 * E * K, () => 0.5 * gauss()),
    convB: fill(2 * E, () => 0.1 * gauss()),
    // Δ = softplus(−4.5 + N(0, 2.2²)): mostly ~0.01, some ~1e-4 (slow decay over
    // thousands of tokens), a few ~1 (fast).
    dtW: fill(2 * E * R, () => (2.2 / 0.5 / Math.sqrt(R)) * gauss()),
    dtB: fill(2 * E, () => -4.5),
    aLog: fill(2 * E * N, () => 2.8 * rand()),                    // A = −exp(U[0, 2.8]) ∈ [−16.4, −1]
    d: fill(2 * E, gauss),
  };
}

/** y2 (2, B, L, E): ½·o of each direction, from the float64 reference ops. */
function reference(c: HostCase): Float64Array {
  const { B, L, E, N, R, K } = c;
  const W = R + 2 * N;
  const y2 = new Float64Array(2 * B * L * E);
  for (let b = 0; b < B; b++) {
    const x = new Float64Array(L * E), z = new Float64Array(L * E);
    for (let t = 0; t < L; t++) {
      for (let e = 0; e < E; e++) {
        x[t * E + e] = c.xz[(b * L + t) * 2 * E + e];
        z[t * E + e] = c.xz[(b * L + t) * 2 * E + E + e];
      }
    }
    for (let dir = 0; dir < 2; dir++) {
      const plane = (dir * B + b) * L;
      const rows = c.xdbl.subarray(plane * W, (plane + L) * W);
      const dtIn = new Float64Array(L * R), Bm = new Float64Array(L * N), Cm = new Float64Array(L * N);
      for (let t = 0; t < L; t++) {
        for (let r = 0; r < R; r++) dtIn[t * R + r] = rows[t * W + r];
        for (let n = 0; n < N; n++) { Bm[t * N + n] = rows[t * W + R + n]; Cm[t * N + n] = rows[t * W + R + N + n]; }
      }
      const u = conv1dSilu(x, L, E, c.convW.subarray(dir * E * K, (dir + 1) * E * K), c.convB.subarray(dir * E, (dir + 1) * E), K, dir === 1);
      const delta = linear(dtIn, L, R, c.dtW.subarray(dir * E * R, (dir + 1) * E * R), E, c.dtB.subarray(dir * E, (dir + 1) * E)).map(softplus);
      const o = selectiveScan({
        L, E, N, z, B: Bm, C: Cm, u, delta,
        A: Array.from(c.aLog.subarray(dir * E * N, (dir + 1) * E * N), (v) => -Math.exp(v)),
        D: c.d.subarray(dir * E, (dir + 1) * E),
        reverse: dir === 1,
      });
      for (let i = 0; i < L * E; i++) y2[plane * E + i] = 0.5 * o[i];
    }
  }
  return y2;
}

interface RunOptions { schedule?: ScanSchedule; chunk?: number; tile?: number; reduction?: ScanReduction }
async function runScan(ctx: GpuContext, c: HostCase, o: RunOptions = {}): Promise<Float32Array> {
  const { chunk, tile, reduction } = o;
  const schedule = o.schedule ?? chooseScanSchedule(c.B, c.L, c.E);
  const up = (name: string, a: Float32Array) => ctx.buffers.upload(`test.${name}`, a);
  const bytes = 2 * c.B * c.L * c.E * 4;
  const y2 = ctx.buffers.upload('test.y2', new Float32Array(bytes / 4).fill(NaN), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  // Garbage in the scratch: a summary that is read but never written would show.
  const scratchBytes = scanScratchBytes(schedule, c.B, c.L, c.E, c.N, chunk ?? defaultScanChunk(c.B, c.L));
  const scratch = ctx.buffers.upload('test.scratch', new Float32Array(Math.max(4, scratchBytes / 4)).fill(NaN));
  const inputs = [c.xz, c.xdbl, c.convW, c.convB, c.dtW, c.dtB, c.aLog, c.d].map((a, i) => up(`in${i}`, a));
  const [xz, xdbl, convWeight, convBias, dtWeight, dtBias, aLog, d] = inputs;
  const consts = ctx.buffers.upload('test.consts', new Float32Array(2 * c.E * scanConstantsStride(c.K, c.N, c.R)).fill(NaN));
  const dispatches: Dispatch[] = [
    scanConstantsDispatch(ctx, { convWeight, convBias, dtWeight, dtType: 'f32', dtBias, aLog, d, packed: consts, E: c.E, N: c.N, R: c.R, taps: c.K }),
    ...scanDispatches(ctx, { xz, xdbl, consts, y2, scratch, B: c.B, L: c.L, E: c.E, N: c.N, R: c.R, taps: c.K, schedule, chunk, tile, reduction }),
  ];
  await runDispatches(ctx, dispatches);
  const out = await readBuffer(ctx.device, y2, bytes);
  for (const b of [...inputs, consts, y2, scratch, ...dispatches.flatMap((x) => x.owned)]) ctx.buffers.destroy(b);
  return out;
}

interface Case extends Shape { chunk?: number; why: string; reduction?: ScanReduction; schedules?: ScanSchedule[] }
const R = 3;
const CASES: Case[] = [
  { B: 1, L: 1, E: 30, N: 16, R, why: 'one token' },
  { B: 1, L: 2, E: 30, N: 4, R, why: 'two tokens' },
  { B: 3, L: 3, E: 66, N: 16, R, why: 'batch 3, three tokens' },
  { B: 1, L: 197, E: 66, N: 16, R: 12, why: 'Vim 224 length, Vim-Ti dt-rank' },
  { B: 3, L: 197, E: 30, N: 4, R, why: 'batch 3, tiny-model d_state' },
  { B: 1, L: 401, E: 30, N: 16, R: 24, why: 'Vim 320 length, Vim-S dt-rank' },
  { B: 3, L: 730, E: 30, N: 16, R, why: 'stride-8 length, batch 3' },
  { B: 1, L: 6085, E: 30, N: 16, R, why: '1248 px length' },
  { B: 1, L: 6085, E: 8, N: 4, R, why: '1248 px length, d_state 4' },
  { B: 1, L: DEFAULT_CHUNK - 1, E: 30, N: 16, R, why: 'T − 1' },
  { B: 3, L: DEFAULT_CHUNK, E: 30, N: 16, R, why: 'T' },
  { B: 1, L: DEFAULT_CHUNK + 1, E: 66, N: 16, R, why: 'T + 1' },
  { B: 1, L: 2 * DEFAULT_CHUNK + 1, E: 30, N: 4, R, why: '2T + 1' },
  { B: 1, L: LONG_CHUNK - 1, E: 30, N: 16, R, chunk: LONG_CHUNK, why: 'T − 1' },
  { B: 3, L: LONG_CHUNK + 1, E: 30, N: 16, R, chunk: LONG_CHUNK, why: 'T + 1' },
  { B: 1, L: 2 * LONG_CHUNK + 1, E: 30, N: 16, R, chunk: LONG_CHUNK, why: '2T + 1' },
  { B: 1, L: 197, E: 66, N: 16, R, chunk: 8, why: 'T = 8: 25 chunks' },
  { B: 1, L: 730, E: 66, N: 16, R, chunk: 64, why: 'T = 64' },
  { B: 3, L: 401, E: 30, N: 4, R, chunk: 5, why: 'T = 5: 81 chunks, odd chunk, shorter than the conv halo + 2' },
  { B: 1, L: 401, E: 30, N: 4, R, chunk: 9, why: 'T = 9: padded groups, several staging batches' },
  { B: 1, L: 100, E: 30, N: 5, R, chunk: 32, why: 'd_state 5 (2 lanes, 3 idle states)' },
  { B: 1, L: 33, E: 30, N: 1, R: 1, chunk: 16, why: 'd_state 1, dt-rank 1' },
  { B: 2, L: 57, E: 30, N: 16, R, K: 2, why: 'conv width 2' },
  { B: 1, L: 57, E: 30, N: 16, R, K: 7, chunk: 4, why: 'conv width 7: halo wider than the chunk' },
  { B: 1, L: 3, E: 30, N: 16, R, K: 4, chunk: 1, why: 'chunk of one token' },
];
// With subgroups, both reductions compiled and chosen at run time from subgroup_size.
const BOTH_CASES: Case[] = [
  { B: 3, L: 197, E: 30, N: 4, R, chunk: 32, reduction: 'both', why: 'run-time choice, d_state 4' },
  { B: 1, L: 401, E: 66, N: 16, R, chunk: 32, reduction: 'both', why: 'run-time choice, d_state 16' },
];

describe('scan helpers', () => {
  test('selectVariant keeps one half of each conditional block', () => {
    const src = 'a\n// @if subgroups\nb\n// @else\nc\n// @endif\nd';
    expect(selectVariant(src, { subgroups: true })).toBe('a\nb\nd');
    expect(selectVariant(src, {})).toBe('a\nc\nd');
    const nested = 'a\n// @if x\n// @if y\nb\n// @else\nc\n// @endif\n// @else\nd\n// @endif\ne';
    expect(selectVariant(nested, { x: true, y: true })).toBe('a\nb\ne');
    expect(selectVariant(nested, { x: true })).toBe('a\nc\ne');
    expect(selectVariant(nested, { y: true })).toBe('a\nd\ne');
  });
  test('chunk and carry-segment choices', () => {
    expect([defaultScanChunk(1, 6085), defaultScanChunk(64, 1025), defaultScanChunk(64, 6085)]).toEqual([16, 16, 32]);
    // batch 1 Vim-Ti at 1248 px: 381 chunks split 16 ways; batch 64: one walk each.
    expect(carrySegments(2 * 384 * 16, 381)).toBe(16);
    expect(carrySegments(2 * 64 * 384 * 16, 191)).toBe(1);
    expect(carrySegments(2 * 384 * 16, 13)).toBe(2);
    expect(carrySegments(960, 2)).toBe(1);
  });
  test('schedule choice: one dispatch unless a long sequence of few images needs chunk parallelism', () => {
    expect(chooseScanSchedule(1, 197, 384)).toBe('single');
    expect(chooseScanSchedule(64, 6085, 384)).toBe('single');
    expect(chooseScanSchedule(1, 6085, 384)).toBe('chunked');
    expect(SINGLE_CHUNK).toBeGreaterThan(0);
  });
  test('lanes', () => {
    expect([1, 4, 5, 8, 9, 12, 16].map(scanLanes)).toEqual([1, 1, 2, 2, 4, 4, 4]);
  });
});

for (const useSubgroups of [true, false]) {
  describe(`scan (${useSubgroups ? 'subgroups where offered' : 'no subgroups'})`, () => {
    let ctx: GpuContext;
    beforeAll(async () => { ctx = await scanTestGpu(useSubgroups); });
    afterAll(() => { releaseGpu(ctx); });

    test('the device has the features this suite means to test', () => {
      // SwiftShader offers subgroups of 4 ≥ LANES: the shuffle path runs with
      // subgroups, the workgroup-memory path without.
      if (!useSubgroups) expect(ctx.features.subgroups).toBe(false);
      const chosen = [4, 16].map((N) => chooseScanReduction(ctx, scanLanes(N)));
      console.log(`subgroups ${ctx.features.subgroups}, sizes ${ctx.device.adapterInfo?.subgroupMinSize}..${ctx.device.adapterInfo?.subgroupMaxSize}: reduction for d_state 4, 16: ${chosen}`);
      if (!useSubgroups) expect(chosen).toEqual(['workgroup', 'workgroup']);
    });

    const schedules: ScanSchedule[] = ['single', 'chunked'];
    for (const schedule of schedules) {
      for (const c of [...CASES, ...(useSubgroups ? BOTH_CASES : [])]) {
        // The long single-schedule cases are the slowest on a software adapter and add nothing the chunked ones miss.
        if (schedule === 'single' && c.L > 1000 && !useSubgroups) continue;
        const name = `${schedule} B=${c.B} L=${c.L} E=${c.E} N=${c.N} R=${c.R}${c.K ? ` K=${c.K}` : ''}${c.chunk ? ` T=${c.chunk}` : ''}${c.reduction ? ` ${c.reduction}` : ''} (${c.why})`;
        test(name, async () => {
          const host = makeCase(c, 1000 + c.L * 7 + c.E * 13 + c.N + c.B * 101);
          const got = await runScan(ctx, host, { schedule, chunk: c.chunk, reduction: c.reduction });
          const r = compare(got, reference(host), ATOL, RTOL);
          console.log(`${useSubgroups ? 'sg' : 'wg'} ${name}: max |err| ${r.maxAbs.toExponential(2)}`);
          expect(r.ok, `max |err| ${r.maxAbs} at ${r.worst}`).toBe(true);
        });
      }
    }

    test('both schedules with a 1-channel tile and a 4-channel tile', async () => {
      const host = makeCase({ B: 2, L: 150, E: 7, N: 16, R }, 77);
      const want = reference(host);
      for (const schedule of ['single', 'chunked'] as const) {
        for (const tile of [1, 4]) {
          const r = compare(await runScan(ctx, host, { schedule, chunk: 32, tile }), want, ATOL, RTOL);
          expect(r.ok, `${schedule} tile ${tile}: max |err| ${r.maxAbs}`).toBe(true);
        }
      }
    });
  });
}
