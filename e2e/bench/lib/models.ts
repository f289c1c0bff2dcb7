// The four models of the benchmark and what both runtimes (the Chromium page and the
// Node runner) need to know about them: how to build Vim's configuration and weights,
// where DeiT's ONNX graph lives, how many tokens a resolution gives.
import type { VimConfig } from '../../../src/model/config.js';

export type ModelName = 'vim_ti' | 'vim_s' | 'deit_ti' | 'deit_s';
export type Arch = 'vim' | 'deit';

export interface ModelInfo {
  arch: Arch;
  label: string;
  /** The model of the other family with the same width: the pair a ratio compares. */
  pair: ModelName;
  embedDim: number;
  /** Seed of the procedural weights (the same as the CLI bench's, so numbers line up). */
  seed?: number;
}

export const MODELS: Record<ModelName, ModelInfo> = {
  vim_ti: { arch: 'vim', label: 'Vim-Ti', pair: 'deit_ti', embedDim: 192, seed: 20240217 },
  vim_s: { arch: 'vim', label: 'Vim-S', pair: 'deit_s', embedDim: 384, seed: 20240317 },
  deit_ti: { arch: 'deit', label: 'DeiT-Ti', pair: 'vim_ti', embedDim: 192 },
  deit_s: { arch: 'deit', label: 'DeiT-S', pair: 'vim_s', embedDim: 384 },
};

/** The resolutions of the paper's Fig. 1 plus 224 and 384. */
export const SIZES = [224, 384, 512, 640, 738, 1024, 1248];
export const PATCH = 16;

export function isModelName(s: string): s is ModelName {
  return Object.hasOwn(MODELS, s);
}

/** Tokens at a square input with stride 16: both families drop the last size mod 16 pixels. */
export function tokensAt(size: number): number {
  const g = Math.floor((size - PATCH) / PATCH) + 1;
  return g * g + 1;
}

/**
 * Multiply-adds per image up to a factor per model: how a case's time grows with size.
 * Vim: every operation is linear in the tokens L. DeiT: 12·D² per token and layer in
 * its Linear layers, plus 2·L·D for q·kᵀ and scores·v.
 */
export function relativeCost(model: ModelName, size: number): number {
  const L = tokensAt(size), D = MODELS[model].embedDim;
  return MODELS[model].arch === 'vim' ? L : L * (12 * D * D + 2 * L * D);
}

/** The released Vim architecture at a width, with a position table of `posRows` rows. */
export function vimConfig(embedDim: number, posRows: number): VimConfig {
  return {
    depth: 24, embedDim, dInner: 2 * embedDim, dState: 16, dConv: 4, dtRank: Math.ceil(embedDim / 16),
    patchSize: PATCH, numClasses: 1000, posRows, normEps: 1e-5,
  };
}

/** Where bench/deit/export_deit.py writes a graph, relative to the repository root. */
export function onnxPath(model: ModelName, size: number): string {
  return `bench/deit/onnx/${model}_${size}.onnx`;
}

/**
 * The benchmark input, sin(0.37·i) over the flat (B, 3, R, R) index: the same numbers as
 * the CLI bench and export_deit.py's reference logits (computed in float64, stored as float32).
 */
export function benchInput(batch: number, size: number): Float32Array {
  const out = new Float32Array(batch * 3 * size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.37);
  return out;
}
