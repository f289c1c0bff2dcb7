// The tiled, chunk-parallel bidirectional selective scan (shaders/scan-chunked.wgsl):
// three dispatches per layer (chunk summaries, carry over chunks, re-scan with
// the fused epilogue); a single dispatch when the sequence fits in one chunk.
import code from '../../shaders/scan-chunked.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import type { KernelSource } from '../gpu/pipeline-cache.js';
import { checkScanShapes, type ScanArgs } from './scan-sequential.js';

/** Tokens per chunk: 16 by default, 32 past 2^17 tokens in the batch (see defaultScanChunk). */
export const DEFAULT_CHUNK = 16;
export const LONG_CHUNK = 32;

/**
 * The chunk length used when none is given. Short chunks mean more parallel
 * work (best on an H200 up to batch 64 × 1025 tokens), but the summary scratch
 * grows as 1/chunk: at batch 64 × 6085 tokens it would pass 2 GiB at 16.
 */
export function defaultScanChunk(B: number, L: number): number {
  return B * L > 131072 ? LONG_CHUNK : DEFAULT_CHUNK;
}

/**
 * Segments per recurrence in chunk_carry: enough invocations to fill a large
 * GPU (2^17) when there are few recurrences, at least 4 chunks per segment.
 */
export function carrySegments(recurrences: number, chunks: number): number {
  let segs = 1;
  while (segs < 16 && recurrences * segs < 131072 && (chunks - 1) / (2 * segs) >= 4) segs *= 2;
  return segs;
}

/**
 * How chunk_output sums C·h over the lanes of a channel (see the shader):
 * 'shuffle' (subgroups at least LANES wide), 'workgroup' (workgroup memory),
 * 'both' (compiled together, chosen at run time from subgroup_size).
 */
export type ScanReduction = 'shuffle' | 'workgroup' | 'both';

export interface ChunkedScanArgs extends ScanArgs {
  /** (2, B, nChunks, E, N) × 2 floats; size it with chunkedScanScratchBytes. Unused when L <= chunk. */
  scratch: GPUBuffer;
  /** Tokens per chunk (default defaultScanChunk(B, L)). */
  chunk?: number;
  /** Channels per workgroup, a power of two (default: as many as fit 128 invocations and workgroup memory). */
  tile?: number;
  /** Overrides the reduction chosen from the device (tests). */
  reduction?: ScanReduction;
}

/** Bytes of summary scratch the chunked scan needs: (2, B, ceil(L/chunk), E, N) pairs of f32. */
export function chunkedScanScratchBytes(B: number, L: number, E: number, N: number, chunk = defaultScanChunk(B, L)): number {
  return 2 * B * Math.ceil(L / chunk) * E * N * 2 * 4;
}

/** Invocations per channel (LANES): each holds 4 states, so ceil(N / 4) rounded up to 1, 2 or 4. */
export function scanLanes(N: number): number {
  let lanes = 1;
  while (lanes * 4 < N) lanes *= 2;
  return lanes;
}

/** Workgroup memory of chunk_output (the largest phase), bytes; mirrors the shader's declarations. */
export function chunkedScanWorkgroupBytes(chunk: number, lanes: number, tile: number, reduction: ScanReduction): number {
  const span = Math.ceil(chunk / 4) * 4;
  const part = reduction === 'shuffle' ? 0 : 2 * tile * lanes * 16;
  return span * tile * 8 + 2 * span * lanes * 16 + span * tile * 4 + part + 8;
}

/**
 * The reduction this device supports best: shuffles where every subgroup has at
 * least `lanes` invocations, workgroup memory where none has (or no subgroups),
 * both with a run-time choice where the adapter does not say.
 */
export function chooseScanReduction(ctx: GpuContext, lanes: number): ScanReduction {
  if (!ctx.features.subgroups) return 'workgroup';
  const info = (ctx.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (info?.subgroupMinSize !== undefined && info.subgroupMinSize >= lanes) return 'shuffle';
  if (info?.subgroupMaxSize !== undefined && info.subgroupMaxSize < lanes) return 'workgroup';
  return 'both';
}

/**
 * Picks the channel tile: the largest power of two with TILE × LANES ≤ 128
 * invocations (and the device limit) whose workgroup memory fits the device.
 * 128 rather than 256: on an H200 the smaller workgroups keep more of them
 * resident (staging is latency-bound) and measured 15-40 % faster.
 */
export function chooseScanTile(ctx: GpuContext, chunk: number, lanes: number, reduction: ScanReduction): number {
  const maxInvocations = Math.min(128, ctx.device.limits.maxComputeInvocationsPerWorkgroup);
  const maxBytes = ctx.device.limits.maxComputeWorkgroupStorageSize;
  const bytes = (tile: number) => chunkedScanWorkgroupBytes(chunk, lanes, tile, reduction);
  let tile = 2 ** Math.floor(Math.log2(Math.max(1, maxInvocations / lanes)));
  while (tile > 1 && bytes(tile) > maxBytes) tile /= 2;
  if (bytes(tile) > maxBytes) {
    throw new RangeError(`scan: chunk = ${chunk} tokens needs ${bytes(tile)} bytes of workgroup memory, over this device's ${maxBytes}; use a smaller chunk`);
  }
  return tile;
}

/** Keeps the text of the flags that are on: `// @if flag` … [`// @else` …] `// @endif`, nestable. */
export function selectVariant(source: string, flags: Record<string, boolean>): string {
  const out: string[] = [];
  const keep = [true];
  for (const line of source.split('\n')) {
    const tag = line.trim();
    const cond = /^\/\/ @if (\w+)$/.exec(tag);
    if (cond) { keep.push(keep[keep.length - 1] && Boolean(flags[cond[1]])); continue; }
    if (tag === '// @else') { keep[keep.length - 1] = keep[keep.length - 2] && !keep[keep.length - 1]; continue; }
    if (tag === '// @endif') { keep.pop(); continue; }
    if (keep[keep.length - 1]) out.push(line);
  }
  return out.join('\n');
}

const variants = new Map<ScanReduction, string>();
function variantCode(reduction: ScanReduction): string {
  let c = variants.get(reduction);
  if (c === undefined) {
    c = selectVariant(code, { shuffle: reduction !== 'workgroup', workgroup: reduction !== 'shuffle' });
    variants.set(reduction, c);
  }
  return c;
}

/** The three kernels of the chunked scan for one configuration. */
export function chunkedScanKernels(ctx: GpuContext, chunk: number, N: number, opts: { tile?: number; reduction?: ScanReduction } = {}) {
  const lanes = scanLanes(N);
  const reduction = opts.reduction ?? chooseScanReduction(ctx, lanes);
  if (reduction !== 'workgroup' && !ctx.features.subgroups) throw new RangeError(`scan: reduction '${reduction}' needs the subgroups feature`);
  const minSize = (ctx.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo?.subgroupMinSize;
  if (reduction === 'shuffle' && !(minSize !== undefined && minSize >= lanes)) {
    throw new RangeError(`scan: reduction 'shuffle' needs subgroups of at least ${lanes} invocations; this adapter's smallest is ${minSize ?? 'unknown'}`);
  }
  const tile = opts.tile ?? chooseScanTile(ctx, chunk, lanes, reduction);
  const name = `scan-chunked-${reduction}`;
  const src = variantCode(reduction);
  const constants = { CHUNK: chunk, LANES: lanes, TILE: tile };
  return {
    tile,
    lanes,
    reduction,
    summary: { name, code: src, entryPoint: 'chunk_summary', constants } satisfies KernelSource,
    carry: { name, code: src, entryPoint: 'chunk_carry' } satisfies KernelSource,
    output: { name, code: src, entryPoint: 'chunk_output', constants } satisfies KernelSource,
  };
}

export function chunkedScanDispatches(ctx: GpuContext, a: ChunkedScanArgs): Dispatch[] {
  checkScanShapes(a);
  const chunk = a.chunk ?? defaultScanChunk(a.B, a.L);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`scan: chunk = ${chunk} must be a positive integer`);
  if (a.tile !== undefined && !(Number.isInteger(Math.log2(a.tile)) && a.tile >= 1)) {
    throw new RangeError(`scan: tile = ${a.tile} must be a power of two`);
  }
  const k = chunkedScanKernels(ctx, chunk, a.N, { tile: a.tile, reduction: a.reduction });
  const chunks = Math.ceil(a.L / chunk);
  const tiles = Math.ceil(a.E / k.tile);
  const hasCarry = chunks > 1;
  if (hasCarry && a.scratch.size < chunkedScanScratchBytes(a.B, a.L, a.E, a.N, chunk)) {
    throw new RangeError(`scan: scratch buffer has ${a.scratch.size} bytes, needs ${chunkedScanScratchBytes(a.B, a.L, a.E, a.N, chunk)}`);
  }

  // chunk_carry: 256 / segs recurrences (dir, b, e, n) per workgroup, rows of up to 32768 workgroups.
  const recurrences = 2 * a.B * a.E * a.N;
  const segs = carrySegments(recurrences, chunks);
  const carryGroups = Math.ceil((recurrences * segs) / 256);
  const carryX = Math.min(carryGroups, 32768);
  const carryY = Math.ceil(carryGroups / carryX);
  const params = packParams([a.B, a.L, a.E, a.N, a.R, chunks, hasCarry ? 1 : 0, carryX]);

  const label = a.label ?? 'scan-chunked';
  const out: Dispatch[] = [];
  if (hasCarry) {
    out.push(makeDispatch(ctx, k.summary, params, [a.scratch, a.u, a.xdbl, a.delta, a.aLog, a.d],
      [tiles, chunks - 1, 2 * a.B], `${label}:summary`));
    out.push(makeDispatch(ctx, { ...k.carry, constants: { CARRY_SEGS: segs } }, params, [a.scratch], [carryX, carryY], `${label}:carry`));
  }
  out.push(makeDispatch(ctx, k.output, params,
    [a.scratch, a.u, a.xdbl, a.delta, a.aLog, a.d, a.xz, a.y],
    [tiles, chunks, a.B], `${label}:output`));
  return out;
}
