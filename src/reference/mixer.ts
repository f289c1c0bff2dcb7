// The bimamba-v2 mixer of one block (docs/model.md §2.4): a shared in_proj, one
// Mamba scan per direction over the same x and z, the average of the two,
// and a shared out_proj. The backward direction is computed in original token
// order (anti-causal conv, scan from the last token), which equals the
// official flip → scan → flip.
import { conv1dSilu, linear, selectiveScan, softplus } from './ops.js';
import type { DirectionParams, LayerParams } from './params.js';

export interface MixerDims {
  /** tokens */
  L: number;
  /** embed_dim */
  D: number;
  /** d_inner */
  E: number;
  /** d_state */
  N: number;
  /** conv width */
  K: number;
  /** dt_rank */
  R: number;
}

/** Names captured per direction; all (L, E) token-major except B and C, which are (L, N). */
export const DIRECTION_CAPTURES = ['x', 'z', 'conv_silu', 'dt_raw', 'delta', 'B', 'C', 'scan_out'] as const;
export type DirectionCaptureName = (typeof DIRECTION_CAPTURES)[number];

/** Receives one direction's intermediate, in original token order. */
export type DirectionSink = (direction: 'fwd' | 'bwd', name: DirectionCaptureName, value: Float64Array) => void;

/** Rows [from, from + count) of a row-major weight with `cols` columns: a sub-Linear. */
function weightRows(w: Float32Array, from: number, count: number, cols: number): Float32Array {
  return w.subarray(from * cols, (from + count) * cols);
}

/** One direction: conv + SiLU, x_proj split dt | B | C, dt_proj, softplus, scan with gate. */
function scanDirection(
  x: Float64Array, z: Float64Array, dims: MixerDims, p: DirectionParams, reverse: boolean,
  sink?: (name: DirectionCaptureName, value: Float64Array) => void,
): Float64Array {
  const { L, E, N, K, R } = dims;
  const u = conv1dSilu(x, L, E, p.convW, p.convB, K, reverse);
  const dtLow = linear(u, L, E, weightRows(p.xProj, 0, R, E), R);
  const B = linear(u, L, E, weightRows(p.xProj, R, N, E), N);
  const C = linear(u, L, E, weightRows(p.xProj, R + N, N, E), N);
  const dtRaw = linear(dtLow, L, R, p.dtW, E); // bias added below, as the fused kernel does
  const delta = new Float64Array(L * E);
  for (let i = 0; i < delta.length; i++) delta[i] = softplus(dtRaw[i] + p.dtB[i % E]);
  const out = selectiveScan({ L, E, N, u, delta, A: p.A, B, C, D: p.D, z, reverse });
  if (sink) {
    sink('x', x); sink('z', z); sink('conv_silu', u); sink('dt_raw', dtRaw);
    sink('delta', delta); sink('B', B); sink('C', C); sink('scan_out', out);
  }
  return out;
}

/**
 * Mixer output (L, D) for the normalised tokens h (L, D). When `sink` is given it
 * receives every per-direction intermediate (fresh arrays, safe to keep).
 */
export function mixerForward(h: Float64Array, dims: MixerDims, p: LayerParams, sink?: DirectionSink): Float64Array {
  const { L, D, E } = dims;
  const x = linear(h, L, D, weightRows(p.inProj, 0, E, D), E);
  const z = linear(h, L, D, weightRows(p.inProj, E, E, D), E);
  const yFwd = scanDirection(x, z, dims, p.fwd, false, sink && ((n, v) => sink('fwd', n, v)));
  const yBwd = scanDirection(x, z, dims, p.bwd, true, sink && ((n, v) => sink('bwd', n, v)));
  // if_divide_out: the two directions are averaged before out_proj.
  const combined = new Float64Array(L * E);
  for (let i = 0; i < combined.length; i++) combined[i] = (yFwd[i] + yBwd[i]) / 2;
  return linear(combined, L, E, p.outProj, D);
}
