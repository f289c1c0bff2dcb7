// Fused residual add + RMSNorm (docs/model.md §2.3): one workgroup per token row.
// Layout: residual, hidden, normed are (rows, dim) float32, row-major; weight (dim).
import code from '../../shaders/rmsnorm.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import { bindingSubset, type BindingMap, type Kernel } from '../gpu/bindings.js';

export interface RmsNormArgs {
  /** (rows, dim). Read in 'first' mode; in 'add' mode overwritten with residual + hidden. */
  residual: GPUBuffer;
  /** (rows, dim) mixer output to add first; absent = 'first' mode (block 0). */
  hidden?: GPUBuffer;
  /** (dim) the norm's weight. */
  weight: GPUBuffer;
  /** (rows, dim) output: RMSNorm(residual) · weight. */
  normed: GPUBuffer;
  rows: number;
  dim: number;
  /** 1e-5 for every Vim norm. */
  eps: number;
  label?: string;
}

const WORKGROUP_MARKER = '// ---- variant: workgroup ----';
const SUBGROUP_MARKER = '// ---- variant: subgroups ----';

/**
 * The shader with one reduction variant kept: the subgroup one (with its
 * `enable` directive) or the workgroup-memory one. See shaders/rmsnorm.wgsl.
 */
export function rmsNormCode(useSubgroups: boolean): string {
  const w = code.indexOf(WORKGROUP_MARKER);
  const s = code.indexOf(SUBGROUP_MARKER);
  if (w < 0 || s < w) throw new Error('shaders/rmsnorm.wgsl: variant markers missing or out of order');
  const common = code.slice(0, w);
  return useSubgroups ? `enable subgroups;\n${common}${code.slice(s)}` : common + code.slice(w, s);
}

/** Smallest power of two ≥ n, clamped to [32, 256]: one pass over the row for Vim's D ≤ 1024. */
function workgroupSize(units: number): number {
  let wg = 32;
  while (wg < units && wg < 256) wg *= 2;
  return wg;
}

/**
 * shaders/rmsnorm.wgsl's bindings (its scalar and vec4 views share the numbers):
 * the 'add' entry points use all of them, the 'first' ones all but `hidden`.
 */
const RMSNORM_BINDINGS = { params: 0, residual: 1, weight: 2, normed: 3, hidden: 4 } as const satisfies BindingMap;
const FIRST_BINDINGS = bindingSubset(RMSNORM_BINDINGS, ['params', 'residual', 'weight', 'normed']);

/** The kernel for one mode and width; its binding names depend on the mode, so makeDispatch checks them at run time. */
export function rmsNormKernel(ctx: GpuContext, dim: number, add: boolean): Kernel {
  const sg = ctx.features.subgroups;
  const vec4 = dim % 4 === 0;
  return {
    name: sg ? 'rmsnorm-sg' : 'rmsnorm',
    code: rmsNormCode(sg),
    entryPoint: `${add ? 'add' : 'first'}_${vec4 ? 'vec4' : 'scalar'}`,
    constants: { WG: workgroupSize(vec4 ? dim / 4 : dim) },
    bindings: add ? RMSNORM_BINDINGS : FIRST_BINDINGS,
  };
}

/** Splits `n` workgroups over x and y when n exceeds the per-dimension limit. */
function grid(ctx: GpuContext, n: number): [number, number] {
  const max = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(n, max);
  return [x, Math.ceil(n / x)];
}

export function rmsNormDispatch(ctx: GpuContext, args: RmsNormArgs): Dispatch {
  const { rows, dim } = args;
  if (!(rows > 0 && dim > 0)) throw new RangeError(`rmsnorm: rows (${rows}) and dim (${dim}) must be positive`);
  const add = args.hidden !== undefined;
  const [gx, gy] = grid(ctx, rows);
  const params = packParams([rows, dim, gx, { f: args.eps }]);
  const storage = { residual: args.residual, weight: args.weight, normed: args.normed, ...(args.hidden ? { hidden: args.hidden } : {}) };
  return makeDispatch(ctx, rmsNormKernel(ctx, dim, add), params, storage, [gx, gy], args.label ?? (add ? 'rmsnorm-add' : 'rmsnorm'));
}
