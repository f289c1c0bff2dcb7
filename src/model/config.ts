// The model's hyper-parameters are not stored in checkpoints: they follow from
// the tensor shapes (docs/model.md §1, docs/checkpoints.md §1). This module derives them and checks that a
// state dict holds exactly the tensors a Vim of that shape needs.
import { ModelShapeError } from '../errors.js';
import { shapeString, type StateDict } from '../tensor.js';

export interface VimConfig {
  depth: number;
  /** D, embed_dim */
  embedDim: number;
  /** E = 2D, d_inner */
  dInner: number;
  /** N, d_state */
  dState: number;
  /** K, conv1d width */
  dConv: number;
  /** R = ceil(D/16) for the released models */
  dtRank: number;
  /** P, the square patch kernel (16) */
  patchSize: number;
  numClasses: number;
  /** L of the stored position table: patches + 1 class token */
  posRows: number;
  /** RMSNorm epsilon (not stored in checkpoints; 1e-5 for every released model) */
  normEps: number;
}

export const GLOBAL_KEYS = ['cls_token', 'pos_embed', 'patch_embed.proj.weight',
  'patch_embed.proj.bias', 'head.weight', 'head.bias'] as const;
export const LAYER_KEYS = ['mixer.A_log', 'mixer.D', 'mixer.A_b_log', 'mixer.D_b',
  'mixer.in_proj.weight', 'mixer.conv1d.weight', 'mixer.conv1d.bias', 'mixer.x_proj.weight',
  'mixer.dt_proj.weight', 'mixer.dt_proj.bias', 'mixer.conv1d_b.weight', 'mixer.conv1d_b.bias',
  'mixer.x_proj_b.weight', 'mixer.dt_proj_b.weight', 'mixer.dt_proj_b.bias',
  'mixer.out_proj.weight', 'norm.weight'] as const;
export const FINAL_KEY = 'norm_f.weight';

/** Every tensor of a model with this config, in the official state_dict order, with its shape. */
export function expectedTensors(c: VimConfig): Array<[string, number[]]> {
  const D = c.embedDim, E = c.dInner, N = c.dState, K = c.dConv, R = c.dtRank, P = c.patchSize;
  const layer: Record<(typeof LAYER_KEYS)[number], number[]> = {
    'mixer.A_log': [E, N], 'mixer.D': [E], 'mixer.A_b_log': [E, N], 'mixer.D_b': [E],
    'mixer.in_proj.weight': [2 * E, D], 'mixer.conv1d.weight': [E, 1, K], 'mixer.conv1d.bias': [E],
    'mixer.x_proj.weight': [R + 2 * N, E], 'mixer.dt_proj.weight': [E, R], 'mixer.dt_proj.bias': [E],
    'mixer.conv1d_b.weight': [E, 1, K], 'mixer.conv1d_b.bias': [E],
    'mixer.x_proj_b.weight': [R + 2 * N, E], 'mixer.dt_proj_b.weight': [E, R],
    'mixer.dt_proj_b.bias': [E], 'mixer.out_proj.weight': [D, E], 'norm.weight': [D],
  };
  const out: Array<[string, number[]]> = [
    ['cls_token', [1, 1, D]], ['pos_embed', [1, c.posRows, D]],
    ['patch_embed.proj.weight', [D, 3, P, P]], ['patch_embed.proj.bias', [D]],
    ['head.weight', [c.numClasses, D]], ['head.bias', [c.numClasses]],
  ];
  for (let l = 0; l < c.depth; l++) {
    for (const k of LAYER_KEYS) out.push([`layers.${l}.${k}`, layer[k]]);
  }
  out.push([FINAL_KEY, [D]]);
  return out;
}

/** Shape of a named tensor in the dict, or a ModelShapeError saying it is missing. */
function dims(sd: ReadonlyMap<string, { shape: number[] }>, file: string, name: string, rank: number): number[] {
  const t = sd.get(name);
  if (!t) throw new ModelShapeError(file, name, 'missing; this file does not look like a Vim state dict');
  if (t.shape.length !== rank) {
    throw new ModelShapeError(file, name, `expected a rank-${rank} tensor, found shape ${shapeString(t.shape)}`);
  }
  return t.shape;
}

/**
 * Derives the configuration from tensor shapes, then checks every tensor:
 * a missing, extra or mis-shaped one is a ModelShapeError naming it and both shapes.
 * Accepts anything with shapes (a StateDict, or a header listing from a reader).
 */
export function deriveConfig(sd: ReadonlyMap<string, { shape: number[] }>, file = 'weights'): VimConfig {
  let depth = 0;
  while (sd.has(`layers.${depth}.mixer.A_log`)) depth++;
  if (depth === 0) dims(sd, file, 'layers.0.mixer.A_log', 2);
  const [, , D] = dims(sd, file, 'cls_token', 3);
  const [E, N] = dims(sd, file, 'layers.0.mixer.A_log', 2);
  const [, , K] = dims(sd, file, 'layers.0.mixer.conv1d.weight', 3);
  const [, R] = dims(sd, file, 'layers.0.mixer.dt_proj.weight', 2);
  const [, , P] = dims(sd, file, 'patch_embed.proj.weight', 4);
  const [numClasses] = dims(sd, file, 'head.weight', 2);
  const [, posRows] = dims(sd, file, 'pos_embed', 3);
  const config: VimConfig = {
    depth, embedDim: D, dInner: E, dState: N, dConv: K, dtRank: R, patchSize: P,
    numClasses, posRows, normEps: 1e-5,
  };
  const expected = expectedTensors(config);
  for (const [name, shape] of expected) {
    const t = sd.get(name);
    if (!t) throw new ModelShapeError(file, name, `missing (expected shape ${shapeString(shape)})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelShapeError(file, name,
        `expected shape ${shapeString(shape)}, found ${shapeString(t.shape)}`);
    }
  }
  if (sd.size !== expected.length) {
    const known = new Set(expected.map(([n]) => n));
    const extra = [...sd.keys()].find((n) => !known.has(n)) ?? '?';
    throw new ModelShapeError(file, extra, 'unexpected tensor: not part of a Vim model with this configuration');
  }
  return config;
}

/** Token layout of one input size: grid, sequence length and class-token index. */
export interface Geometry {
  height: number;
  width: number;
  stride: number;
  gridH: number;
  gridW: number;
  /** M, number of patches */
  patches: number;
  /** L = M + 1 */
  tokens: number;
  /** M // 2: where the class token sits */
  clsIndex: number;
}

export function geometry(c: VimConfig, height: number, width: number, stride: number): Geometry {
  if (!(Number.isInteger(stride) && stride > 0)) throw new RangeError(`stride must be a positive integer, got ${stride}`);
  if (height < c.patchSize || width < c.patchSize) {
    throw new RangeError(`input ${height}x${width} is smaller than one ${c.patchSize}x${c.patchSize} patch`);
  }
  const gridH = Math.floor((height - c.patchSize) / stride) + 1;
  const gridW = Math.floor((width - c.patchSize) / stride) + 1;
  const patches = gridH * gridW;
  return { height, width, stride, gridH, gridW, patches, tokens: patches + 1, clsIndex: Math.floor(patches / 2) };
}

/**
 * The stride a checkpoint was made for follows from its position table and the input
 * size: the one stride (patch size first, then smaller) whose token count equals the
 * table's rows. Undefined when none fits (the table must then be interpolated).
 */
export function inferStride(c: VimConfig, height: number, width: number): number | undefined {
  for (let s = c.patchSize; s >= 1; s--) {
    if (height >= c.patchSize && width >= c.patchSize && geometry(c, height, width, s).tokens === c.posRows) return s;
  }
  return undefined;
}

/** Parameter count (Vim-Ti: 7,148,008). */
export function parameterCount(c: VimConfig): number {
  return expectedTensors(c).reduce((sum, [, s]) => sum + s.reduce((a, b) => a * b, 1), 0);
}
