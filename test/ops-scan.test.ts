// Both scan kernels against the float64 reference (src/reference/ops.ts):
// y = ½(o_fwd + o_bwd) for random, realistically scaled inputs, at sizes that
// hit the chunk and channel-tile edges on purpose.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compare } from './fixtures.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/gpu/node.js';
import { runDispatches, type Dispatch } from '../src/gpu/dispatch.js';
import { selectiveScan, softplus } from '../src/reference/ops.js';
import { scanDispatches, scanScratchBytes, type ScanKind } from '../src/ops/scan.js';
import { carrySegments, chooseScanReduction, DEFAULT_CHUNK, defaultScanChunk, LONG_CHUNK, scanLanes, selectVariant, type ScanReduction } from '../src/ops/scan-chunked.js';
import { mulberry32 } from './random.js';

// f32 kernels vs the f64 reference; stated once, never loosened. Over 6085
// steps the f32 state drifts by ~1e-6 relative; 1e-4 leaves room for exp2 vs exp.
const ATOL = 1e-4, RTOL = 1e-4;

interface Shape { B: number; L: number; E: number; N: number; R: number }
interface HostCase extends Shape {
  xz: Float32Array; u: Float32Array; xdbl: Float32Array; delta: Float32Array; aLog: Float32Array; d: Float32Array;
}

// testGpu() with one Dawn toggle: SwiftShader compiles Vulkan's zero-initialised
// workgroup memory (VK_KHR_zero_initialize_workgroup_memory) into straight-line
// stores, ~0.5 ms of compile time per float (seconds per scan pipeline). Without
// the extension Dawn zero-fills with a loop in the shader: same semantics.
async function scanTestGpu(useSubgroups: boolean): Promise<GpuContext> {
  const gpu = await nodeGpu(['disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension']);
  return acquireGpu({ gpu, useSubgroups });
}

function makeCase(s: Shape, seed: number): HostCase {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  const { B, L, E, N, R } = s;
  const W = R + 2 * N;
  return {
    ...s,
    xz: fill(B * L * 2 * E, gauss),                              // x half unused; z ~ N(0, 1)
    u: fill(2 * B * L * E, gauss),
    // Δ = softplus(N(−4.5, 2.2)): mostly ~0.01, some ~1e-4 (slow decay over
    // thousands of tokens), a few ~1 (fast).
    delta: fill(2 * B * L * E, () => softplus(-4.5 + 2.2 * gauss())),
    xdbl: fill(2 * B * L * W, () => 0.5 * gauss()),                // dt part unused; B, C ~ N(0, 0.5²)
    aLog: fill(2 * E * N, () => 2.8 * rand()),                    // A = −exp(U[0, 2.8]) ∈ [−16.4, −1]
    d: fill(2 * E, gauss),
  };
}

/** ½(o_fwd + o_bwd) for every image, from the float64 reference scan. */
function reference(c: HostCase): Float64Array {
  const { B, L, E, N, R } = c;
  const W = R + 2 * N;
  const y = new Float64Array(B * L * E);
  for (let b = 0; b < B; b++) {
    const z = new Float64Array(L * E);
    for (let t = 0; t < L; t++) for (let e = 0; e < E; e++) z[t * E + e] = c.xz[(b * L + t) * 2 * E + E + e];
    for (let dir = 0; dir < 2; dir++) {
      const plane = (dir * B + b) * L;
      const Bm = new Float64Array(L * N), Cm = new Float64Array(L * N);
      for (let t = 0; t < L; t++) {
        for (let n = 0; n < N; n++) {
          Bm[t * N + n] = c.xdbl[(plane + t) * W + R + n];
          Cm[t * N + n] = c.xdbl[(plane + t) * W + R + N + n];
        }
      }
      const o = selectiveScan({
        L, E, N, z, B: Bm, C: Cm,
        u: c.u.subarray(plane * E, (plane + L) * E),
        delta: c.delta.subarray(plane * E, (plane + L) * E),
        A: Array.from(c.aLog.subarray(dir * E * N, (dir + 1) * E * N), (v) => -Math.exp(v)),
        D: c.d.subarray(dir * E, (dir + 1) * E),
        reverse: dir === 1,
      });
      for (let i = 0; i < L * E; i++) y[b * L * E + i] += 0.5 * o[i];
    }
  }
  return y;
}

interface RunOptions { chunk?: number; tile?: number; reduction?: ScanReduction }
async function runScan(ctx: GpuContext, c: HostCase, kind: ScanKind, o: RunOptions = {}): Promise<Float32Array> {
  const { chunk, tile, reduction } = o;
  const up = (name: string, a: Float32Array) => ctx.buffers.upload(`test.${name}`, a);
  const bytes = c.B * c.L * c.E * 4;
  const y = ctx.buffers.upload('test.y', new Float32Array(c.B * c.L * c.E).fill(NaN),
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  // Garbage in the scratch: a summary that is read but never written would show.
  const scratchBytes = scanScratchBytes(kind, c.B, c.L, c.E, c.N, chunk ?? defaultScanChunk(c.B, c.L));
  const scratch = ctx.buffers.upload('test.scratch', new Float32Array(Math.max(4, scratchBytes / 4)).fill(NaN));
  const inputs = [up('xz', c.xz), up('u', c.u), up('xdbl', c.xdbl), up('delta', c.delta), up('aLog', c.aLog), up('d', c.d)];
  const [xz, u, xdbl, delta, aLog, d] = inputs;
  const dispatches: Dispatch[] = scanDispatches(ctx, { kind, xz, u, xdbl, delta, aLog, d, y, scratch, B: c.B, L: c.L, E: c.E, N: c.N, R: c.R, chunk, tile, reduction });
  await runDispatches(ctx, dispatches);
  const out = await readBuffer(ctx.device, y, bytes);
  for (const b of [...inputs, y, scratch, ...dispatches.flatMap((x) => x.owned)]) ctx.buffers.destroy(b);
  return out;
}

interface Case extends Shape { chunk?: number; why: string; reduction?: ScanReduction }
const R = 3;
const CASES: Case[] = [
  { B: 1, L: 1, E: 30, N: 16, R, why: 'one token' },
  { B: 1, L: 2, E: 30, N: 4, R, why: 'two tokens' },
  { B: 3, L: 3, E: 66, N: 16, R, why: 'batch 3, three tokens' },
  { B: 1, L: 197, E: 66, N: 16, R, why: 'Vim 224 length' },
  { B: 3, L: 197, E: 30, N: 4, R, why: 'batch 3, tiny-model d_state' },
  { B: 1, L: 401, E: 30, N: 16, R, why: 'Vim 320 length' },
  { B: 3, L: 730, E: 30, N: 16, R, why: 'stride-8 length, batch 3' },
  { B: 1, L: 6085, E: 30, N: 16, R, why: '1248 px length' },
  { B: 1, L: 6085, E: 8, N: 4, R, why: '1248 px length, d_state 4' },
  { B: 1, L: DEFAULT_CHUNK - 1, E: 30, N: 16, R, why: 'T − 1' },
  { B: 3, L: DEFAULT_CHUNK, E: 30, N: 16, R, why: 'T' },
  { B: 1, L: DEFAULT_CHUNK + 1, E: 66, N: 16, R, why: 'T + 1' },
  { B: 1, L: 2 * DEFAULT_CHUNK + 1, E: 30, N: 4, R, why: '2T + 1' },
  { B: 1, L: LONG_CHUNK - 1, E: 30, N: 16, R, chunk: LONG_CHUNK, why: 'T − 1' },
  { B: 1, L: LONG_CHUNK, E: 66, N: 16, R, chunk: LONG_CHUNK, why: 'T' },
  { B: 3, L: LONG_CHUNK + 1, E: 30, N: 16, R, chunk: LONG_CHUNK, why: 'T + 1' },
  { B: 1, L: 2 * LONG_CHUNK + 1, E: 30, N: 16, R, chunk: LONG_CHUNK, why: '2T + 1' },
  { B: 1, L: 197, E: 66, N: 16, R, chunk: 8, why: 'T = 8: 25 chunks' },
  { B: 1, L: 730, E: 66, N: 16, R, chunk: 64, why: 'T = 64' },
  { B: 3, L: 1025, E: 30, N: 16, R, chunk: 128, why: 'T = 128' },
  { B: 3, L: 401, E: 30, N: 4, R, chunk: 5, why: 'T = 5: 81 chunks, odd chunk' },
  { B: 1, L: 401, E: 30, N: 4, R, chunk: 9, why: 'T = 9: padded groups, several staging batches' },
  { B: 1, L: 6085, E: 30, N: 16, R, chunk: 16, why: 'T = 16: 381 chunks' },
  { B: 1, L: 100, E: 30, N: 5, R, chunk: 32, why: 'd_state 5 (2 lanes, 3 idle states)' },
  { B: 1, L: 33, E: 30, N: 1, R: 1, chunk: 16, why: 'd_state 1' },
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

    const kinds: ScanKind[] = useSubgroups ? ['chunked', 'sequential'] : ['chunked'];
    for (const kind of kinds) {
      for (const c of [...CASES, ...(useSubgroups && kind === 'chunked' ? BOTH_CASES : [])]) {
        if (kind === 'sequential' && c.chunk !== undefined) continue;  // chunking means nothing to it
        const name = `${kind} B=${c.B} L=${c.L} E=${c.E} N=${c.N}${c.chunk ? ` T=${c.chunk}` : ''}${c.reduction ? ` ${c.reduction}` : ''} (${c.why})`;
        test(name, async () => {
          const host = makeCase(c, 1000 + c.L * 7 + c.E * 13 + c.N + c.B * 101);
          const got = await runScan(ctx, host, kind, { chunk: c.chunk, reduction: c.reduction });
          const r = compare(got, reference(host), ATOL, RTOL);
          console.log(`${useSubgroups ? 'sg' : 'wg'} ${name}: max |err| ${r.maxAbs.toExponential(2)}`);
          expect(r.ok, `max |err| ${r.maxAbs} at ${r.worst}`).toBe(true);
        });
      }
    }

    test('chunked with a 1-channel tile and a 4-channel tile', async () => {
      const host = makeCase({ B: 2, L: 150, E: 7, N: 16, R }, 77);
      const want = reference(host);
      for (const tile of [1, 4]) {
        const r = compare(await runScan(ctx, host, 'chunked', { chunk: 32, tile }), want, ATOL, RTOL);
        expect(r.ok, `tile ${tile}: max |err| ${r.maxAbs}`).toBe(true);
      }
    });
  });
}
