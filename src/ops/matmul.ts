// Y = X·Wᵀ (+ bias) (→ softplus) for every Linear layer of Vim: in_proj, x_proj
// and dt_proj (two directions as two groups of one dispatch), out_proj and the
// head (class-token rows only, through lda and xOffset). See shaders/matmul.wgsl.
import code from '../../shaders/matmul.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import type { KernelSource } from '../gpu/pipeline-cache.js';

export type MatmulEpilogue = 'none' | 'bias' | 'bias-softplus';
const EPILOGUE_CODE: Record<MatmulEpilogue, number> = { 'none': 0, 'bias': 1, 'bias-softplus': 2 };

/** Tile shapes: BM×BN outputs per workgroup, TM×TN per invocation, BK of K per stage. */
export interface MatmulTile { BM: number; BN: number; BK: number; TM: number; TN: number }

/**
 * All use 256 invocations or fewer and ≤ 16 KiB of workgroup memory, WebGPU's
 * default limits, so each runs on every adapter. 'large' has the shape (128×128,
 * 8×8 per thread) that reached 40 TFLOP/s on an H200 in WEBGPU.md's measurements;
 * 'small' keeps more workgroups busy when M·N is small (batch-1 layers).
 */
export const MATMUL_TILES = {
  small: { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
  medium: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  large: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
} as const satisfies Record<string, MatmulTile>;
export type MatmulTileName = keyof typeof MATMUL_TILES;
/** A tile shape, or 'direct': one invocation per output, no workgroup memory (entry point `direct`). */
export type MatmulVariant = MatmulTileName | 'direct';

export interface MatmulOptions {
  /** (…, M rows of lda) read from xOffset; each row's first K elements are used */
  x: GPUBuffer;
  /** (groups, N, K) row-major, PyTorch Linear layout */
  w: GPUBuffer;
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
  /** independent products in one dispatch (workgroup z), e.g. the two scan directions */
  groups?: number;
  /** element strides between groups (defaults: M·lda, N·K, N, M·ldy) */
  groupStrideX?: number;
  groupStrideW?: number;
  groupStrideBias?: number;
  groupStrideY?: number;
  epilogue?: MatmulEpilogue;
  /** default: chosen from the output size and the adapter (see pickVariant) */
  tile?: MatmulVariant;
  label?: string;
}

/** The pipeline: tile shape (or the direct kernel), vec4 loads or not, epilogue. */
export function matmulKernel(variant: MatmulVariant, vec4: boolean, epilogue: MatmulEpilogue): KernelSource {
  const flags = { VEC4: vec4 ? 1 : 0, EPILOGUE: EPILOGUE_CODE[epilogue] };
  if (variant === 'direct') return { name: 'matmul', code, entryPoint: 'direct', constants: flags };
  return { name: 'matmul', code, constants: { ...MATMUL_TILES[variant], ...flags } };
}

/** Every variant (24 pipelines: slow to compile on a software adapter; prefer matmulKernelFor). */
export function matmulKernels(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const variant of [...Object.keys(MATMUL_TILES), 'direct'] as MatmulVariant[]) {
    for (const vec4 of [true, false]) {
      for (const ep of Object.keys(EPILOGUE_CODE) as MatmulEpilogue[]) out.push(matmulKernel(variant, vec4, ep));
    }
  }
  return out;
}

/**
 * 'direct' on software adapters (see shaders/matmul.wgsl) and for fewer than 8
 * rows; otherwise the biggest tile that still gives enough workgroups to fill a
 * large GPU (about 2 per SM of a 132-SM H200); small products get 'small'.
 */
export function pickVariant(M: number, N: number, groups = 1, software = false): MatmulVariant {
  if (software || M < 8) return 'direct';
  return pickTile(M, N, groups);
}

function pickTile(M: number, N: number, groups = 1): MatmulTileName {
  const count = (t: MatmulTile) => Math.ceil(M / t.BM) * Math.ceil(N / t.BN) * groups;
  if (count(MATMUL_TILES.large) >= 256) return 'large';
  if (count(MATMUL_TILES.medium) >= 128) return 'medium';
  return 'small';
}

function checkInt(label: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min || v >= 2 ** 32) throw new RangeError(`${label}: ${name} = ${v} must be an integer ≥ ${min}`);
}

/** The shape part of MatmulOptions: all that decides the pipeline and the launch. */
export type MatmulShape = Omit<MatmulOptions, 'x' | 'w' | 'y' | 'bias' | 'label'>;

interface ResolvedMatmul { kernel: KernelSource; params: ArrayBuffer; workgroups: [number, number, number] }

function resolve(o: MatmulShape, label: string, hasBias: boolean, software: boolean): ResolvedMatmul {
  const { M, N, K } = o;
  const epilogue = o.epilogue ?? 'none';
  const groups = o.groups ?? 1;
  const lda = o.lda ?? K, ldy = o.ldy ?? N;
  const xOffset = o.xOffset ?? 0, wOffset = o.wOffset ?? 0, yOffset = o.yOffset ?? 0, biasOffset = o.biasOffset ?? 0;
  const gsX = o.groupStrideX ?? M * lda, gsW = o.groupStrideW ?? N * K;
  const gsBias = o.groupStrideBias ?? N, gsY = o.groupStrideY ?? M * ldy;
  for (const [n, v] of Object.entries({ M, N, K, groups })) checkInt(label, n, v, 1);
  for (const [n, v] of Object.entries({ xOffset, wOffset, yOffset, biasOffset, gsX, gsW, gsBias, gsY })) checkInt(label, n, v);
  if (lda < K) throw new RangeError(`${label}: lda = ${lda} is smaller than K = ${K}`);
  if (ldy < N) throw new RangeError(`${label}: ldy = ${ldy} is smaller than N = ${N}`);
  if (epilogue !== 'none' && !hasBias) throw new RangeError(`${label}: the '${epilogue}' epilogue needs a bias buffer`);

  // vec4 loads need every row of X and W to start on a 16-byte boundary.
  const vec4 = [K, lda, xOffset, wOffset, gsX, gsW].every((v) => v % 4 === 0);
  const variant = o.tile ?? pickVariant(M, N, groups, software);
  // The direct kernel's workgroup is 16 columns × 4 rows.
  const [bm, bn] = variant === 'direct' ? [4, 16] : [MATMUL_TILES[variant].BM, MATMUL_TILES[variant].BN];
  return {
    kernel: matmulKernel(variant, vec4, epilogue),
    params: packParams([M, N, K, lda, ldy, xOffset, wOffset, yOffset, biasOffset, gsX, gsW, gsBias, gsY]),
    workgroups: [Math.ceil(N / bn), Math.ceil(M / bm), groups],
  };
}

/** The pipeline matmulDispatch would use for this shape on this context: for PipelineCache.warm(). */
export function matmulKernelFor(ctx: GpuContext, shape: MatmulShape): KernelSource {
  return resolve(shape, 'matmul', true, ctx.adapterInfo.isFallback).kernel;
}

/**
 * One launch of Y = X·Wᵀ (+ bias) (→ softplus). Buffers are bound whole, so
 * every offset and stride is in f32 elements; bindings: params, x, w, bias, y.
 */
export function matmulDispatch(ctx: GpuContext, o: MatmulOptions): Dispatch {
  const label = o.label ?? 'matmul';
  const r = resolve(o, label, o.bias !== undefined, ctx.adapterInfo.isFallback);
  // Without a bias the binding still needs a buffer: W is read-only here too.
  return makeDispatch(ctx, r.kernel, r.params, [o.x, o.w, o.bias ?? o.w, o.y], r.workgroups, label);
}
