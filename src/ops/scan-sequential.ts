// The sequential bidirectional selective scan: one invocation per (image,
// channel) walks the tokens forward then backward. The readable reference kernel
// and the benchmark baseline for the chunked scan (src/ops/scan-chunked.ts).
import code from '../../shaders/scan-sequential.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import type { KernelSource } from '../gpu/pipeline-cache.js';

/**
 * Buffers and shapes of one layer's scan (float32, token-major, batch outermost).
 * B images, L tokens, E = d_inner channels, N = d_state (1..16), R = dt_rank.
 */
export interface ScanArgs {
  /** (B, L, 2E) in_proj output; z = columns E..2E-1, shared by both directions. */
  xz: GPUBuffer;
  /** (2, B, L, E) conv+SiLU output; direction 0 forward, 1 backward, both in original token order. */
  u: GPUBuffer;
  /** (2, B, L, R+2N) x_proj output: B_t = columns R..R+N-1, C_t = columns R+N..R+2N-1. */
  xdbl: GPUBuffer;
  /** (2, B, L, E) Δ, softplus already applied. */
  delta: GPUBuffer;
  /** (2, E, N) A_log; the kernels use A = -exp(A_log). */
  aLog: GPUBuffer;
  /** (2, E) skip weights D. */
  d: GPUBuffer;
  /** (B, L, E) output: ½(o_fwd + o_bwd), o = (C·h + D·u)·SiLU(z). */
  y: GPUBuffer;
  B: number;
  L: number;
  E: number;
  N: number;
  R: number;
  /** Dispatch label (prefix), e.g. 'l3.scan'. */
  label?: string;
}

/** The largest d_state the scan kernels hold per channel (Vim uses 16). */
export const MAX_STATE = 16;

export const sequentialScanKernel: KernelSource = { name: 'scan-sequential', code };

/** Throws a RangeError naming the offending size when a scan's shapes are unusable. */
export function checkScanShapes(a: Pick<ScanArgs, 'B' | 'L' | 'E' | 'N' | 'R'>): void {
  for (const k of ['B', 'L', 'E', 'N'] as const) {
    if (!Number.isInteger(a[k]) || a[k] < 1) throw new RangeError(`scan: ${k} = ${a[k]} must be a positive integer`);
  }
  if (!Number.isInteger(a.R) || a.R < 0) throw new RangeError(`scan: R = ${a.R} must be a non-negative integer`);
  if (a.N > MAX_STATE) throw new RangeError(`scan: d_state N = ${a.N} exceeds the supported maximum ${MAX_STATE}`);
}

export function sequentialScanDispatches(ctx: GpuContext, a: ScanArgs): Dispatch[] {
  checkScanShapes(a);
  const params = packParams([a.B, a.L, a.E, a.N, a.R]);
  const invocations = a.B * a.E;
  return [makeDispatch(ctx, sequentialScanKernel, params,
    [a.u, a.xdbl, a.delta, a.aLog, a.d, a.xz, a.y],
    [Math.ceil(invocations / 64)], a.label ?? 'scan-sequential')];
}
