// Looks up the tensors one block needs, by their official state_dict names
// (docs/checkpoints.md §1), and groups them the way the mixer uses them: shared in/out
// projections and norm, and one parameter set per scan direction.
import { ModelShapeError } from '../errors.js';
import type { StateDict } from '../tensor.js';

export function tensorData(sd: StateDict, name: string): Float32Array {
  const t = sd.get(name);
  if (!t) throw new ModelShapeError('weights', name, 'missing from the state dict');
  return t.data;
}

/** Parameters of one scan direction: the unsuffixed ones (forward) or the `_b` ones (backward). */
export interface DirectionParams {
  /** conv1d.weight (E, 1, K), read as (E, K) */
  convW: Float32Array;
  convB: Float32Array;
  /** x_proj.weight (R + 2N, E): rows dt | B | C, in that order */
  xProj: Float32Array;
  /** dt_proj.weight (E, R) */
  dtW: Float32Array;
  dtB: Float32Array;
  /** A = −exp(A_log), (E, N), precomputed once per layer */
  A: Float64Array;
  /** skip weight (E) */
  D: Float32Array;
}

export interface LayerParams {
  norm: Float32Array;
  /** in_proj.weight (2E, D): rows 0..E−1 give x, rows E..2E−1 give z */
  inProj: Float32Array;
  /** out_proj.weight (D, E) */
  outProj: Float32Array;
  fwd: DirectionParams;
  bwd: DirectionParams;
}

function negExp(aLog: Float32Array): Float64Array {
  const A = new Float64Array(aLog.length);
  for (let i = 0; i < aLog.length; i++) A[i] = -Math.exp(aLog[i]);
  return A;
}

function directionParams(sd: StateDict, prefix: string, suffix: '' | '_b'): DirectionParams {
  const get = (key: string) => tensorData(sd, `${prefix}mixer.${key}`);
  return {
    convW: get(`conv1d${suffix}.weight`),
    convB: get(`conv1d${suffix}.bias`),
    xProj: get(`x_proj${suffix}.weight`),
    dtW: get(`dt_proj${suffix}.weight`),
    dtB: get(`dt_proj${suffix}.bias`),
    // The A tensors are named A_log / A_b_log (suffix inside the name), D / D_b.
    A: negExp(get(suffix ? 'A_b_log' : 'A_log')),
    D: get(`D${suffix}`),
  };
}

export function layerParams(sd: StateDict, layer: number): LayerParams {
  const prefix = `layers.${layer}.`;
  return {
    norm: tensorData(sd, `${prefix}norm.weight`),
    inProj: tensorData(sd, `${prefix}mixer.in_proj.weight`),
    outProj: tensorData(sd, `${prefix}mixer.out_proj.weight`),
    fwd: directionParams(sd, prefix, ''),
    bwd: directionParams(sd, prefix, '_b'),
  };
}
