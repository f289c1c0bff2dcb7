// Procedural weights, scheme "vim-proc-v1" (fixtures README, "Procedural weights").
// The 24-layer fixture cases ship no checkpoint: every value is a fixed function of
// (case seed, tensor position t in the canonical key order, flat element index i), so
// tests can rebuild a full Vim-Ti / Vim-S state dict in memory, bit for bit.
import type { StateDict } from '../tensor.js';
import { numel } from '../tensor.js';
import { expectedTensors, type VimConfig } from './config.js';

/**
 * 32-bit counter hash of (seed, t, i). Math.imul keeps every product mod 2^32,
 * which is what the scheme's unsigned arithmetic needs; `>>> 0` re-reads as unsigned.
 */
export function proceduralHash(seed: number, t: number, i: number): number {
  let h = (Math.imul(seed, 0x9e3779b1) + Math.imul(t, 0x85ebca77) + Math.imul(i, 0xc2b2ae3d)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Elements of all but the first axis: the fan-in of a Linear / Conv weight. */
function fanIn(shape: readonly number[]): number {
  return numel(shape.slice(1));
}

/**
 * (base, scale) of a tensor: value = float32(base + scale·u), u ∈ [−1, 1).
 * The rule depends only on the key with its `layers.<l>.` prefix removed.
 */
export function proceduralRule(name: string, shape: readonly number[]): { base: number; scale: number } {
  const key = name.replace(/^layers\.\d+\./, '');
  switch (key) {
    case 'cls_token':
    case 'pos_embed':
      return { base: 0, scale: 0.035 };
    case 'patch_embed.proj.bias':
      return { base: 0, scale: 0.02 };
    case 'head.bias':
      return { base: 0, scale: 0.1 };
    case 'patch_embed.proj.weight':
    case 'head.weight':
    case 'mixer.in_proj.weight':
    case 'mixer.x_proj.weight':
    case 'mixer.x_proj_b.weight':
    case 'mixer.out_proj.weight':
      return { base: 0, scale: Math.sqrt(3 / fanIn(shape)) }; // uniform with variance 1/fan_in
    case 'mixer.dt_proj.weight':
    case 'mixer.dt_proj_b.weight':
      return { base: 0, scale: 1 / Math.sqrt(shape[1]) }; // shape (E, R): the official 1/sqrt(R) bound
    case 'mixer.dt_proj.bias':
    case 'mixer.dt_proj_b.bias':
      return { base: -4.5, scale: 2.2 };
    case 'mixer.conv1d.weight':
    case 'mixer.conv1d.bias':
    case 'mixer.conv1d_b.weight':
    case 'mixer.conv1d_b.bias':
      return { base: 0, scale: 0.5 };
    case 'mixer.A_log':
    case 'mixer.A_b_log':
      return { base: 1.4, scale: 1.4 };
    case 'mixer.D':
    case 'mixer.D_b':
      return { base: 1, scale: 0.5 };
    case 'norm.weight':
    case 'norm_f.weight':
      return { base: 1, scale: 0.2 };
    default:
      throw new RangeError(`vim-proc-v1 has no rule for tensor '${name}'`);
  }
}

/** One tensor: n values for tensor number t. */
export function proceduralTensor(seed: number, t: number, n: number, base: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // h / 2^32 · 2 − 1 is exact in float64; base + scale·u is rounded once, by the store.
    const u = (proceduralHash(seed, t, i) / 4294967296) * 2 - 1;
    out[i] = base + scale * u;
  }
  return out;
}

/** The full state dict of a Vim with this config, in canonical order (t = position). */
export function proceduralWeights(cfg: VimConfig, seed: number): StateDict {
  const sd: StateDict = new Map();
  expectedTensors(cfg).forEach(([name, shape], t) => {
    const { base, scale } = proceduralRule(name, shape);
    sd.set(name, { shape, data: proceduralTensor(seed, t, numel(shape), base, scale) });
  });
  return sd;
}

/** Config of a procedural case: the released architectures, with the table size of `posRows`. */
export function proceduralConfig(embedDim: number, posRows: number, depth = 24): VimConfig {
  return {
    depth, embedDim, dInner: 2 * embedDim, dState: 16, dConv: 4, dtRank: Math.ceil(embedDim / 16),
    patchSize: 16, numClasses: 1000, posRows, normEps: 1e-5,
  };
}
