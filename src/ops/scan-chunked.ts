// The fused bidirectional selective scan (shaders/scan-chunked.wgsl): conv1d +
// SiLU and dt_proj + softplus computed in its staging, each direction's gated
// half written to y2. Two schedules: 'single' (one dispatch; each workgroup
// walks the whole sequence) and 'chunked' (chunk summaries, carry over chunks,
// re-scan: three dispatches, parallel over chunks for long sequences).
import code from '../../shaders/scan-chunked.wgsl?raw';
import activations from '../../shaders/activations.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import { bindingSubset, type BindingMap, type Kernel } from '../gpu/bindings.js';
import { scanConstantsStride } from './scan-constants.js';

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

/** One layer's fused scan: shapes, buffers and schedule. */
export interface FusedScanArgs {
  /** (B, L, 2E) in_proj output: x = columns 0..E-1 (conv input), z = E..2E-1 (gate). */
  xz: GPUBuffer;
  /** (2, B, L, R+2N) x_proj output: dt-rank part, B_t, C_t. */
  xdbl: GPUBuffer;
  /** (2, E, scanConstantsStride) packed constants (src/ops/scan-constants.ts). */
  consts: GPUBuffer;
  /** (2, B, L, E) output: direction d's ½·(C·h + D·u)·SiLU(z) in half d; y = the sum of the halves. */
  y2: GPUBuffer;
  /** (2, B, nChunks, E, N) × 2 floats for 'chunked' (chunkedScanScratchBytes); unused by 'single'. */
  scratch?: GPUBuffer;
  B: number;
  L: number;
  E: number;
  N: number;
  R: number;
  /** conv1d width (d_conv), at most 8. */
  taps: number;
  /** Default: chooseScanSchedule. */
  schedule?: ScanSchedule;
  /** Tokens per chunk (default: defaultScanChunk for the schedule). */
  chunk?: number;
  /** Channels per workgroup, a power of two (default: chooseScanTile). */
  tile?: number;
  /** Overrides the reduction chosen from the device (tests). */
  reduction?: ScanReduction;
  label?: string;
}

/** 'single': one dispatch, a workgroup walks every chunk; 'chunked': three dispatches, parallel over chunks. */
export type ScanSchedule = 'single' | 'chunked';

/** Tokens per chunk of the 'single' schedule: fewer staging rounds, no scratch to size. */
export const SINGLE_CHUNK = 32;

/**
 * The schedule for a shape: 'single' while the sequence has few chunks or the
 * batch alone gives enough workgroups (2·B·E/tile); 'chunked' when a long
 * sequence of few images needs its chunks in parallel to fill the GPU.
 */
export function chooseScanSchedule(B: number, L: number, E: number): ScanSchedule {
  const chunks = Math.ceil(L / SINGLE_CHUNK);
  const workgroups = 2 * B * Math.ceil(E / 32);
  return chunks <= 8 || workgroups >= 1024 ? 'single' : 'chunked';
}

/** Bytes of summary scratch the chunked scan needs: (2, B, ceil(L/chunk), E, N) pairs of f32. */
export function chunkedScanScratchBytes(B: number, L: number, E: number, N: number, chunk = defaultScanChunk(B, L)): number {
  return 2 * B * Math.ceil(L / chunk) * E * N * 2 * 4;
}

/** Scratch bytes a schedule needs (0 for 'single'). */
export function scanScratchBytes(schedule: ScanSchedule, B: number, L: number, E: number, N: number, chunk?: number): number {
  return schedule === 'single' ? 0 : chunkedScanScratchBytes(B, L, E, N, chunk ?? defaultScanChunk(B, L));
}

/** Invocations per channel (LANES): each holds 4 states, so ceil(N / 4) rounded up to 1, 2 or 4. */
export function scanLanes(N: number): number {
  let lanes = 1;
  while (lanes * 4 < N) lanes *= 2;
  return lanes;
}

/** Workgroup memory of chunk_output (the largest phase), bytes; mirrors the shader's declarations. */
export function chunkedScanWorkgroupBytes(chunk: number, lanes: number, tile: number, reduction: ScanReduction, R: number, taps: number): number {
  const span = Math.ceil(chunk / 4) * 4;
  const part = reduction === 'shuffle' ? 0 : 2 * tile * lanes * 16;
  const staged = (span + taps - 1) * tile * 4 + span * R * 4 + R * tile * 4;
  return staged + span * tile * 8 + 2 * span * lanes * 16 + span * tile * 4 + part + 8;
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
 * resident (staging is latency-bound) and measured 15-40 % faster. The 'single'
 * schedule has only 2·B·E/tile workgroups, so there the tile shrinks (to 8 at
 * least) until they number ≥ `minWorkgroups`.
 */
export function chooseScanTile(ctx: GpuContext, chunk: number, lanes: number, reduction: ScanReduction, R: number, taps: number,
  single?: { B: number; E: number; minWorkgroups: number }): number {
  const maxInvocations = Math.min(128, ctx.device.limits.maxComputeInvocationsPerWorkgroup);
  const maxBytes = ctx.device.limits.maxComputeWorkgroupStorageSize;
  const bytes = (tile: number) => chunkedScanWorkgroupBytes(chunk, lanes, tile, reduction, R, taps);
  let tile = 2 ** Math.floor(Math.log2(Math.max(1, maxInvocations / lanes)));
  if (single) while (tile > 8 && 2 * single.B * Math.ceil(single.E / tile) < single.minWorkgroups) tile /= 2;
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
    c = `${selectVariant(code, { shuffle: reduction !== 'workgroup', workgroup: reduction !== 'shuffle' })}\n${activations}`;
    variants.set(reduction, c);
  }
  return c;
}

/**
 * shaders/scan-chunked.wgsl's bindings, and the part each phase uses (the
 * 'auto' layout of an entry point holds only what it uses).
 */
const SCAN_BINDINGS = { params: 0, scratch: 1, xz: 2, xdbl: 3, consts: 4, y2: 5 } as const satisfies BindingMap;
const SUMMARY_BINDINGS = bindingSubset(SCAN_BINDINGS, ['params', 'scratch', 'xz', 'xdbl', 'consts']);
const CARRY_BINDINGS = bindingSubset(SCAN_BINDINGS, ['params', 'scratch']);

/** Workgroups the 'single' schedule aims for: two per SM of a large GPU (132 on an H200). */
const SINGLE_MIN_WORKGROUPS = 264;

/** The kernels of the fused scan for one configuration. */
export function chunkedScanKernels(ctx: GpuContext, o: { chunk: number; N: number; R: number; taps: number; single: boolean; tile?: number; reduction?: ScanReduction; B?: number; E?: number }) {
  const lanes = scanLanes(o.N);
  const reduction = o.reduction ?? chooseScanReduction(ctx, lanes);
  if (reduction !== 'workgroup' && !ctx.features.subgroups) throw new RangeError(`scan: reduction '${reduction}' needs the subgroups feature`);
  const minSize = (ctx.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo?.subgroupMinSize;
  if (reduction === 'shuffle' && !(minSize !== undefined && minSize >= lanes)) {
    throw new RangeError(`scan: reduction 'shuffle' needs subgroups of at least ${lanes} invocations; this adapter's smallest is ${minSize ?? 'unknown'}`);
  }
  const single = o.single && o.B !== undefined && o.E !== undefined ? { B: o.B, E: o.E, minWorkgroups: SINGLE_MIN_WORKGROUPS } : undefined;
  const tile = o.tile ?? chooseScanTile(ctx, o.chunk, lanes, reduction, o.R, o.taps, single);
  const name = `scan-chunked-${reduction}`;
  const src = variantCode(reduction);
  const constants = { CHUNK: o.chunk, LANES: lanes, TILE: tile, RANK: o.R, TAPS: o.taps };
  return {
    tile,
    lanes,
    reduction,
    summary: { name, code: src, entryPoint: 'chunk_summary', constants, bindings: SUMMARY_BINDINGS } satisfies Kernel,
    carry: { name, code: src, entryPoint: 'chunk_carry', bindings: CARRY_BINDINGS } satisfies Kernel,
    output: { name, code: src, entryPoint: 'chunk_output', constants: { ...constants, SINGLE: o.single ? 1 : 0 }, bindings: SCAN_BINDINGS } satisfies Kernel,
  };
}

/** Throws a RangeError naming the offending size when a scan's shapes are unusable. */
export function checkFusedScanShapes(a: Pick<FusedScanArgs, 'B' | 'L' | 'E' | 'N' | 'R' | 'taps'>): void {
  for (const k of ['B', 'L', 'E', 'N', 'R', 'taps'] as const) {
    if (!Number.isInteger(a[k]) || a[k] < 1) throw new RangeError(`scan: ${k} = ${a[k]} must be a positive integer`);
  }
  if (a.N > MAX_STATE) throw new RangeError(`scan: d_state N = ${a.N} exceeds the supported maximum ${MAX_STATE}`);
  if (a.taps > MAX_TAPS) throw new RangeError(`scan: conv width ${a.taps} exceeds the supported maximum ${MAX_TAPS}`);
}

/** The largest d_state the scan holds per channel (Vim uses 16), and the largest conv width (Vim: 4). */
export const MAX_STATE = 16;
export const MAX_TAPS = 8;

export function chunkedScanDispatches(ctx: GpuContext, a: FusedScanArgs): Dispatch[] {
  checkFusedScanShapes(a);
  const schedule = a.schedule ?? chooseScanSchedule(a.B, a.L, a.E);
  const single = schedule === 'single';
  const chunk = a.chunk ?? (single ? SINGLE_CHUNK : defaultScanChunk(a.B, a.L));
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`scan: chunk = ${chunk} must be a positive integer`);
  if (a.tile !== undefined && !(Number.isInteger(Math.log2(a.tile)) && a.tile >= 1)) {
    throw new RangeError(`scan: tile = ${a.tile} must be a power of two`);
  }
  const k = chunkedScanKernels(ctx, { chunk, N: a.N, R: a.R, taps: a.taps, single, tile: a.tile, reduction: a.reduction, B: a.B, E: a.E });
  const chunks = Math.ceil(a.L / chunk);
  const tiles = Math.ceil(a.E / k.tile);
  const hasCarry = !single && chunks > 1;
  if (hasCarry && !(a.scratch && a.scratch.size >= chunkedScanScratchBytes(a.B, a.L, a.E, a.N, chunk))) {
    throw new RangeError(`scan: the chunked schedule needs a scratch buffer of ${chunkedScanScratchBytes(a.B, a.L, a.E, a.N, chunk)} bytes, got ${a.scratch?.size ?? 'none'}`);
  }

  // chunk_carry: 256 / segs recurrences (dir, b, e, n) per workgroup, rows of up to 32768 workgroups.
  const recurrences = 2 * a.B * a.E * a.N;
  const segs = carrySegments(recurrences, chunks);
  const carryGroups = Math.ceil((recurrences * segs) / 256);
  const carryX = Math.min(carryGroups, 32768);
  const carryY = Math.ceil(carryGroups / carryX);
  const stride = scanConstantsStride(a.taps, a.N, a.R);
  const params = packParams([a.B, a.L, a.E, a.N, chunks, hasCarry ? 1 : 0, carryX, stride]);

  const label = a.label ?? 'scan';
  // Without carry the (writable) scratch binding is never touched but must still
  // be bound to a buffer that aliases no other binding: a 16-byte one of its own.
  const spare = hasCarry ? [] : [ctx.buffers.storage(`${label}:spare`, 16)];
  const scratch = hasCarry ? a.scratch! : spare[0];
  const out: Dispatch[] = [];
  if (hasCarry) {
    out.push(makeDispatch(ctx, k.summary, params, { scratch, xz: a.xz, xdbl: a.xdbl, consts: a.consts }, [tiles, chunks - 1, 2 * a.B], `${label}:summary`));
    out.push(makeDispatch(ctx, { ...k.carry, constants: { CARRY_SEGS: segs } }, params, { scratch }, [carryX, carryY], `${label}:carry`));
  }
  out.push(makeDispatch(ctx, k.output, params, { scratch, xz: a.xz, xdbl: a.xdbl, consts: a.consts, y2: a.y2 },
    [tiles, single ? 1 : chunks, 2 * a.B], `${label}:output`, spare));
  return out;
}
