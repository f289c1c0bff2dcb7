// Image → layer-0 tokens: Conv2d patch embedding, class token at M//2 and
// pos_embed, in one fused dispatch. See shaders/patch-embed.wgsl.
import code from '../../shaders/patch-embed.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import type { BindingMap, Kernel } from '../gpu/bindings.js';
import type { KernelSource } from '../gpu/pipeline-cache.js';
import { MATMUL_TILES, pickVariant, type MatmulVariant } from './matmul.js';

export interface PatchEmbedOptions {
  /** (B, 3, H, W) float32, normalised */
  image: GPUBuffer;
  /** patch_embed.proj.weight (D, 3, P, P), read as (D, 3·P·P) */
  weight: GPUBuffer;
  /** patch_embed.proj.bias (D) */
  bias: GPUBuffer;
  /** cls_token (D) */
  clsToken: GPUBuffer;
  /** pos_embed (L, D), one row per token after the class token is inserted */
  posEmbed: GPUBuffer;
  /** output (B, L, D): every row is written */
  tokens: GPUBuffer;
  B: number;
  H: number;
  W: number;
  D: number;
  P: number;
  stride: number;
  /** default: chosen like a matmul of B·L × D (pickVariant) */
  tile?: MatmulVariant;
  label?: string;
}

/** Patch grid and token count of an H×W input: the right/bottom remainder is dropped (docs/model.md §2.1). */
function patchGrid(H: number, W: number, P: number, stride: number): { gh: number; gw: number; M: number; L: number; cls: number } {
  const gh = Math.floor((H - P) / stride) + 1, gw = Math.floor((W - P) / stride) + 1;
  const M = gh * gw;
  return { gh, gw, M, L: M + 1, cls: Math.floor(M / 2) };
}

/** shaders/patch-embed.wgsl's bindings; both entry points (tiled `main`, `direct`) use all of them. */
const PATCH_EMBED_BINDINGS = { params: 0, image: 1, weight: 2, bias: 3, clsToken: 4, pos: 5, tokens: 6 } as const satisfies BindingMap;

export function patchEmbedKernel(variant: MatmulVariant, P: number): Kernel<keyof typeof PATCH_EMBED_BINDINGS> {
  const bindings = PATCH_EMBED_BINDINGS;
  if (variant === 'direct') return { name: 'patch-embed', code, entryPoint: 'direct', bindings };
  // 3·P² is a multiple of 4 exactly when P is even: then weight rows take vec4 loads.
  return { name: 'patch-embed', code, constants: { ...MATMUL_TILES[variant], VEC4: P % 2 === 0 ? 1 : 0 }, bindings };
}

export type PatchEmbedShape = Pick<PatchEmbedOptions, 'B' | 'H' | 'W' | 'D' | 'P' | 'stride' | 'tile'>;

/**
 * The matmul rule, except that 128-row tiles are not used by default: on an
 * H200 'large' took 2.5 ms against 'medium''s 0.26 ms (Vim-Ti, batch 64 at 224;
 * 'tall' was not measured for this kernel); 'direct' was best at batch 1
 * (81 µs vs 89 µs).
 */
function variantFor(ctx: GpuContext, o: PatchEmbedShape): MatmulVariant {
  const { L } = patchGrid(o.H, o.W, o.P, o.stride);
  if (o.tile) return o.tile;
  const v = pickVariant(o.B * L, o.D, 1, ctx.adapterInfo.isFallback);
  return v === 'tall' || v === 'large' ? 'medium' : v;
}

/** The pipeline patchEmbedDispatches would use on this context, for PipelineCache.warm(). */
export function patchEmbedKernelFor(ctx: GpuContext, o: PatchEmbedShape): KernelSource {
  return patchEmbedKernel(variantFor(ctx, o), o.P);
}

/**
 * The dispatches that fill `tokens` (B, L, D) with the input of block 0:
 * currently one (the class-token rows are handled by the same kernel).
 */
export function patchEmbedDispatches(ctx: GpuContext, o: PatchEmbedOptions): Dispatch[] {
  const label = o.label ?? 'patch-embed';
  const { B, H, W, D, P, stride } = o;
  for (const [n, v] of Object.entries({ B, H, W, D, P, stride })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${label}: ${n} = ${v} must be a positive integer`);
  }
  if (H < P || W < P) throw new RangeError(`${label}: a ${H}x${W} image is smaller than one ${P}x${P} patch`);
  const { gw, L, cls } = patchGrid(H, W, P, stride);
  const rows = B * L, K = 3 * P * P;
  const variant = variantFor(ctx, o);
  // The direct kernel's workgroup is 16 columns × 4 rows.
  const [bm, bn] = variant === 'direct' ? [4, 16] : [MATMUL_TILES[variant].BM, MATMUL_TILES[variant].BN];
  const params = packParams([rows, D, K, L, cls, H, W, P, stride, gw]);
  return [makeDispatch(ctx, patchEmbedKernel(variant, P), params,
    { image: o.image, weight: o.weight, bias: o.bias, clsToken: o.clsToken, pos: o.posEmbed, tokens: o.tokens },
    [Math.ceil(D / bn), Math.ceil(rows / bm), 1], label)];
}
