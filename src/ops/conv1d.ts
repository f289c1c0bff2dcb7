// Depthwise conv1d + SiLU for both mixer directions in one dispatch (docs/model.md §2.4 b–c, §2.5).
// Layouts (float32): xz (B, L, 2E), x = columns 0..E−1; weight (2, E, K) [fwd, bwd];
// bias (2, E); u (2, B, L, E): direction 0 causal, 1 anti-causal, original token order.
import code from '../../shaders/conv1d.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import type { KernelSource } from '../gpu/pipeline-cache.js';

export interface Conv1dSiluArgs {
  xz: GPUBuffer;
  weight: GPUBuffer;
  bias: GPUBuffer;
  u: GPUBuffer;
  B: number;
  L: number;
  E: number;
  /** Conv width (d_conv); 4 for every released Vim. */
  K: number;
  label?: string;
}

const WG = 64;

export function conv1dSiluKernel(E: number, K: number): KernelSource {
  return {
    name: 'conv1d-silu',
    code,
    // vec4 loads/stores need every row start (multiples of E and 2E) 16-byte aligned.
    entryPoint: E % 4 === 0 ? 'conv_vec4' : 'conv_scalar',
    constants: { K, WG },
  };
}

export function conv1dSiluDispatch(ctx: GpuContext, args: Conv1dSiluArgs): Dispatch {
  const { B, L, E, K } = args;
  for (const [n, v] of Object.entries({ B, L, E, K })) {
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`conv1d: ${n} must be a positive integer, got ${v}`);
  }
  const groups = E % 4 === 0 ? E / 4 : E;
  const perDir = B * L * groups;
  // Workgroups for one direction, split over x and y past the per-dimension limit.
  const n = Math.ceil(perDir / WG);
  const gx = Math.min(n, ctx.device.limits.maxComputeWorkgroupsPerDimension);
  const gy = Math.ceil(n / gx);
  const params = packParams([B, L, E, groups, perDir, gx * WG]);
  return makeDispatch(ctx, conv1dSiluKernel(E, K), params, [args.xz, args.weight, args.bias, args.u],
    [gx, gy, 2], args.label ?? 'conv1d-silu');
}
