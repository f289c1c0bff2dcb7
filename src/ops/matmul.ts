// Y = X·Wᵀ (+ bias) (→ softplus) for every Linear layer of Vim: in_proj (with
// add + RMSNorm as its prologue), x_proj (two directions as two groups, with
// conv1d + SiLU as its prologue), out_proj (summing the two scan directions as
// it loads) and the head (class-token rows only, through lda and xOffset). W may
// be stored as f32, f16 or int8 with per-row scales (weights/FORMAT.md). See
// shaders/matmul.wgsl.
import matmulCode from '../../shaders/matmul.wgsl?raw';
import weightElements from '../../shaders/weight-elements.wgsl?raw';
import activations from '../../shaders/activations.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import type { BindingMap, Kernel } from '../gpu/bindings.js';
import type { KernelSource } from '../gpu/pipeline-cache.js';
import type { WeightDType } from '../weights/weight-dtype.js';

const code = `${weightElements}\n${matmulCode}\n${activations}`;

/**
 * shaders/matmul.wgsl's bindings; both entry points (tiled `main`, `direct`) use
 * all of them. aux0..aux2 are the prologue's operands (see prologueBuffers).
 */
const MATMUL_BINDINGS = { params: 0, x: 1, w: 2, bias: 3, y: 4, scales: 5, aux0: 6, aux1: 7, aux2: 8 } as const satisfies BindingMap;
type MatmulBinding = keyof typeof MATMUL_BINDINGS;

export type MatmulEpilogue = 'none' | 'bias' | 'bias-softplus';
const EPILOGUE_CODE: Record<MatmulEpilogue, number> = { 'none': 0, 'bias': 1, 'bias-softplus': 2 };

/** Storage of W: f32; f16 two per u32 word; int8 four per word with one f32 scale per row. */
const WDTYPE_CODE: Record<WeightDType, number> = { f32: 0, f16: 1, int8: 2 };

/**
 * How X is formed where it is loaded (shaders/matmul.wgsl, PROLOGUE):
 * - rmsnorm: X = RMSNorm(x [+ hidden]) · weight over each whole row (lda = K);
 *   with `hidden`, x + hidden is also written to `residualOut` (≠ x);
 * - conv-silu: X[g] = SiLU(depthwise conv1d of x along the tokens), causal for
 *   group 0 and anti-causal for group 1; rows are (image, token) with `seq`
 *   tokens per image; weight (groups, K, taps), bias (groups, K);
 * - sum2: X = x[i] + x[i + pair].
 */
export type MatmulPrologue =
  | { kind: 'rmsnorm'; weight: GPUBuffer; eps: number; hidden?: GPUBuffer; residualOut?: GPUBuffer }
  | { kind: 'conv-silu'; weight: GPUBuffer; bias: GPUBuffer; seq: number; taps: number }
  | { kind: 'sum2'; pair: number };
type PrologueKind = MatmulPrologue['kind'] | 'none';
const PROLOGUE_CODE: Record<PrologueKind, number> = { 'none': 0, 'rmsnorm': 1, 'conv-silu': 2, 'sum2': 3 };

/** Columns per invocation of the 'rows' variant (the shader's ROW_COLS). */
const ROW_COLS = 64;

/** Tile shapes: BM×BN outputs per workgroup, TM×TN per invocation, BK of K per stage. */
export interface MatmulTile { BM: number; BN: number; BK: number; TM: number; TN: number }

/**
 * All use 256 invocations or fewer and ≤ 16 KiB of workgroup memory, WebGPU's
 * default limits, so each runs on every adapter. See pickVariant for which one
 * serves which product; 'large' (8×8 per thread) is only used when asked for.
 */
export const MATMUL_TILES = {
  small: { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
  medium: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  tall: { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  large: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
} as const satisfies Record<string, MatmulTile>;
export type MatmulTileName = keyof typeof MATMUL_TILES;
/** A tile shape, or 'direct': one invocation per output, no workgroup memory (entry point `direct`). */
/** A tile shape, or 'direct': one invocation per output, no workgroup memory (entry point `direct`). */
export type MatmulVariant = MatmulTileName | 'direct';
/**
 * The matmul's own kernels: its variants, and 'rows': one invocation per row and
 * block of 64 columns (`direct_rows`), where a prologue forms X once per row and
 * block rather than once per output.
 */
export type MatmulKernelVariant = MatmulVariant | 'rows';

export interface MatmulOptions {
  /** (…, M rows of lda) read from xOffset; each row's first K elements are used */
  x: GPUBuffer;
  /** (groups, N, K) row-major, PyTorch Linear layout, stored as wType */
  w: GPUBuffer;
  /** default 'f32'; offsets and strides of W stay in elements whatever the type */
  wType?: WeightDType;
  /** (groups, N) f32 row scales; required when wType is 'int8' */
  scales?: GPUBuffer;
  /** output rows of ldy elements from yOffset; columns 0..N−1 are written */
  y: GPUBuffer;
  /** (groups, N); required by the 'bias' and 'bias-softplus' epilogues */
  bias?: GPUBuffer;
  M: number;
  N: number;
  K: number;
  /** row stride of X in elements (default K) */
  lda?: number;
  /** row stride of Y in elements (default N) */
  ldy?: number;
  xOffset?: number;
  wOffset?: number;
  yOffset?: number;
  biasOffset?: number;
  scaleOffset?: number;
  /** independent products in one dispatch (workgroup z), e.g. the two scan directions */
  groups?: number;
  /** element strides between groups (defaults: M·lda, N·K, N, M·ldy) */
  groupStrideX?: number;
  groupStrideW?: number;
  groupStrideBias?: number;
  groupStrideY?: number;
  /** default N */
  groupStrideScale?: number;
  epilogue?: MatmulEpilogue;
  prologue?: MatmulPrologue;
  /** default: chosen from the output size and the adapter (see pickVariant) */
  tile?: MatmulKernelVariant;
  label?: string;
}

/** The pipeline: tile shape (or the direct kernel), vec4 loads or not, epilogue, storage of W, prologue. */
export function matmulKernel(variant: MatmulKernelVariant, vec4: boolean, epilogue: MatmulEpilogue, wType: WeightDType = 'f32', prologue: PrologueKind = 'none'): Kernel<MatmulBinding> {
  // Defaults are left out, so the plain pipelines and cache keys are what they always were.
  const flags = {
    VEC4: vec4 ? 1 : 0, EPILOGUE: EPILOGUE_CODE[epilogue],
    ...(wType === 'f32' ? {} : { WDTYPE: WDTYPE_CODE[wType] }),
    ...(prologue === 'none' ? {} : { PROLOGUE: PROLOGUE_CODE[prologue] }),
  };
  if (variant === 'direct') return { name: 'matmul', code, entryPoint: 'direct', constants: flags, bindings: MATMUL_BINDINGS };
  if (variant === 'rows') return { name: 'matmul', code, entryPoint: 'direct_rows', constants: flags, bindings: MATMUL_BINDINGS };
  return { name: 'matmul', code, constants: { ...MATMUL_TILES[variant], ...flags }, bindings: MATMUL_BINDINGS };
}

/** Every variant (30 pipelines per weight type: slow to compile on a software adapter; prefer matmulKernelFor). */
export function matmulKernels(wTypes: readonly WeightDType[] = ['f32']): KernelSource[] {
  const out: KernelSource[] = [];
  for (const wType of wTypes) {
    for (const variant of [...Object.keys(MATMUL_TILES), 'direct'] as MatmulVariant[]) {
      for (const vec4 of [true, false]) {
        for (const ep of Object.keys(EPILOGUE_CODE) as MatmulEpilogue[]) out.push(matmulKernel(variant, vec4, ep, wType));
      }
    }
  }
  return out;
}

/**
 * The default kernel for a product, from measurements on an H200 (Vim-Ti and
 * Vim-S shapes, batch 1 to 64, and 4096³) and on software adapters:
 * - 'direct' on software adapters (3–20× faster there, see shaders/matmul.wgsl)
 *   and for small outputs (fewer than 8 rows, or under 2^17 elements: batch-1
 *   x_proj / out_proj / head), where one invocation per output beats a tile's
 *   staging latency (out_proj at batch 1: 22 µs vs 29 µs);
 * - 'tall' (128×64, 8×4 per invocation) for wide products that still launch
 *   ≥ 256 of its workgroups: Vim-S in_proj at batch 64 460 µs vs 569 µs
 *   ('medium'), 4096³ 32 vs 26 TFLOP/s; with fewer workgroups it idles SMs
 *   (out_proj at batch 8: 91 µs vs 29 µs);
 * - otherwise 'medium', or 'small' while 'medium' would launch fewer than 64
 *   workgroups. 'large' (128×128) was slower than 'medium' on every Vim shape.
 */
export function pickVariant(M: number, N: number, groups = 1, software = false): MatmulVariant {
  if (software || M < 8 || M * N * groups < 2 ** 17) return 'direct';
  const count = (t: MatmulTile) => Math.ceil(M / t.BM) * Math.ceil(N / t.BN) * groups;
  if (N >= 128 && count(MATMUL_TILES.tall) >= 256) return 'tall';
  return count(MATMUL_TILES.medium) >= 64 ? 'medium' : 'small';
}

function checkInt(label: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min || v >= 2 ** 32) throw new RangeError(`${label}: ${name} = ${v} must be an integer ≥ ${min}`);
}

/** The shape part of MatmulOptions: all that decides the pipeline and the launch. */
export type MatmulShape = Omit<MatmulOptions, 'x' | 'w' | 'y' | 'bias' | 'scales' | 'label' | 'prologue'> & { prologue?: PrologueShape };
/** What of a prologue decides the pipeline and the parameters (no buffers). */
export type PrologueShape =
  | { kind: 'rmsnorm'; eps: number; add: boolean }
  | { kind: 'conv-silu'; seq: number; taps: number }
  | { kind: 'sum2'; pair: number };

function prologueShape(p: MatmulPrologue | undefined): PrologueShape | undefined {
  if (!p) return undefined;
  if (p.kind === 'rmsnorm') return { kind: 'rmsnorm', eps: p.eps, add: p.hidden !== undefined };
  if (p.kind === 'conv-silu') return { kind: 'conv-silu', seq: p.seq, taps: p.taps };
  return { kind: 'sum2', pair: p.pair };
}

interface ResolvedMatmul { kernel: Kernel<MatmulBinding>; params: ArrayBuffer; workgroups: [number, number, number] }

function resolve(o: MatmulShape, label: string, hasBias: boolean, hasScales: boolean, software: boolean): ResolvedMatmul {
  const { M, N, K } = o;
  const epilogue = o.epilogue ?? 'none';
  const groups = o.groups ?? 1;
  const lda = o.lda ?? K, ldy = o.ldy ?? N;
  const xOffset = o.xOffset ?? 0, wOffset = o.wOffset ?? 0, yOffset = o.yOffset ?? 0, biasOffset = o.biasOffset ?? 0;
  const gsX = o.groupStrideX ?? M * lda, gsW = o.groupStrideW ?? N * K;
  const gsBias = o.groupStrideBias ?? N, gsY = o.groupStrideY ?? M * ldy;
  const wType = o.wType ?? 'f32', scaleOffset = o.scaleOffset ?? 0, gsScale = o.groupStrideScale ?? N;
  for (const [n, v] of Object.entries({ M, N, K, groups })) checkInt(label, n, v, 1);
  for (const [n, v] of Object.entries({ xOffset, wOffset, yOffset, biasOffset, gsX, gsW, gsBias, gsY, scaleOffset, gsScale })) checkInt(label, n, v);
  if (!(wType in WDTYPE_CODE)) throw new RangeError(`${label}: unknown weight type '${String(wType)}'`);
  if (wType === 'int8' && !hasScales) throw new RangeError(`${label}: int8 weights need a scales buffer`);
  if (lda < K) throw new RangeError(`${label}: lda = ${lda} is smaller than K = ${K}`);
  if (ldy < N) throw new RangeError(`${label}: ldy = ${ldy} is smaller than N = ${N}`);
  if (epilogue !== 'none' && !hasBias) throw new RangeError(`${label}: the '${epilogue}' epilogue needs a bias buffer`);
  const pro = o.prologue;
  const [seq, taps, pair] = pro?.kind === 'conv-silu' ? [pro.seq, pro.taps, 0] : pro?.kind === 'sum2' ? [1, 0, pro.pair] : [1, 0, 0];
  if (pro?.kind === 'rmsnorm' && (lda !== K || groups !== 1)) throw new RangeError(`${label}: the rmsnorm prologue needs whole rows (lda = K) and one group`);
  if (pro?.kind === 'conv-silu') {
    checkInt(label, 'seq', seq, 1);
    checkInt(label, 'taps', taps, 1);
    if (groups > 2 || M % seq !== 0) throw new RangeError(`${label}: the conv-silu prologue needs 1 or 2 groups and M a multiple of seq (${seq})`);
  }
  if (pro?.kind === 'sum2') checkInt(label, 'pair', pair);

  // vec4 loads need every row of X and W to start on a 16-byte boundary.
  const vec4 = [K, lda, xOffset, wOffset, gsX, gsW, pair].every((v) => v % 4 === 0);
  // On a software adapter a prologue matmul takes 'rows': 'direct' would form X once per output.
  const variant = o.tile ?? (software && pro ? 'rows' : pickVariant(M, N, groups, software));
  const params = packParams([M, N, K, lda, ldy, xOffset, wOffset, yOffset, biasOffset, gsX, gsW, gsBias, gsY, scaleOffset, gsScale,
    seq, taps, pair, { f: pro?.kind === 'rmsnorm' ? pro.eps : 0 }, pro?.kind === 'rmsnorm' && pro.add ? 1 : 0]);
  const kernel = matmulKernel(variant, vec4, epilogue, wType, pro?.kind ?? 'none');
  // 'rows': 64 rows per workgroup, ROW_COLS columns per invocation.
  if (variant === 'rows') return { kernel, params, workgroups: [Math.ceil(M / 64), Math.ceil(N / ROW_COLS), groups] };
  // The direct kernel's workgroup is 16 columns × 4 rows.
  const [bm, bn] = variant === 'direct' ? [4, 16] : [MATMUL_TILES[variant].BM, MATMUL_TILES[variant].BN];
  return { kernel, params, workgroups: [Math.ceil(N / bn), Math.ceil(M / bm), groups] };
}

/** The pipeline matmulDispatch would use for this shape on this context: for PipelineCache.warm(). */
export function matmulKernelFor(ctx: GpuContext, shape: MatmulShape): KernelSource {
  return resolve(shape, 'matmul', true, true, ctx.adapterInfo.isFallback).kernel;
}

/** The prologue's three operand buffers (aux0, aux1 read; aux2 written), or undefined where unused. */
function prologueBuffers(p: MatmulPrologue | undefined): [GPUBuffer?, GPUBuffer?, GPUBuffer?] {
  if (p?.kind === 'rmsnorm') {
    if (p.hidden && !p.residualOut) throw new RangeError('matmul: the rmsnorm prologue with hidden needs residualOut');
    return [p.hidden, p.weight, p.hidden ? p.residualOut : undefined];
  }
  if (p?.kind === 'conv-silu') return [p.weight, p.bias, undefined];
  return [undefined, undefined, undefined];
}

/**
 * One launch of Y = X·Wᵀ (+ bias) (→ softplus), X formed by the prologue.
 * Buffers are bound whole, so every offset and stride is in elements.
 */
export function matmulDispatch(ctx: GpuContext, o: MatmulOptions): Dispatch {
  const label = o.label ?? 'matmul';
  const r = resolve({ ...o, prologue: prologueShape(o.prologue) }, label, o.bias !== undefined, o.scales !== undefined, ctx.adapterInfo.isFallback);
  const [aux0, aux1, aux2] = prologueBuffers(o.prologue);
  // Unused read-only bindings take W. The written one must alias nothing else
  // bound, so where it is unused it gets a 16-byte buffer of its own.
  const spare = aux2 ? [] : [ctx.buffers.storage(`${label}:spare`, 16)];
  return makeDispatch(ctx, r.kernel, r.params, {
    x: o.x, w: o.w, bias: o.bias ?? o.w, y: o.y, scales: o.scales ?? o.w, aux0: aux0 ?? o.w, aux1: aux1 ?? o.w, aux2: aux2 ?? spare[0],
  }, r.workgroups, label, spare);
}
