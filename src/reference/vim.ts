// The whole Vim forward pass in float64, step by step as docs/model.md §2 states it:
// patch embed → class token at M//2 → + pos_embed → depth × (RMSNorm → mixer,
// plain pre-norm residual) → final RMSNorm → class-token row → head.
import { InputError, ModelShapeError } from '../errors.js';
import { geometry, inferStride, type Geometry, type VimConfig } from '../model/config.js';
import type { StateDict } from '../tensor.js';
import { mixerForward, type DirectionSink, type MixerDims } from './mixer.js';
import { linear, patchEmbed, rmsNorm } from './ops.js';
import { layerParams, tensorData, type LayerParams } from './params.js';

/**
 * Called with intermediates of ONE batch element (`captureBatch`, default 0); arrays
 * are fresh and never mutated afterwards, so they may be kept. Names and layouts
 * (all token-major, original token order, L = tokens, layer = −1 for non-layer values):
 *   'patch_embed' (M, D), 'tokens' (L, D), 'final_norm' (L, D);
 *   per layer i: 'residual' (L, D) — the value block i normalises (= tokens for i = 0),
 *   'mixer_in' (L, D), 'hidden' (L, D) — the mixer output;
 *   per layer in `captureLayers`, per direction d ∈ {fwd, bwd}: `${d}_x`, `${d}_z`,
 *   `${d}_conv_silu`, `${d}_dt_raw` (before the dt bias), `${d}_delta`, `${d}_scan_out`
 *   (L, E) and `${d}_B`, `${d}_C` (L, N). The backward ones are NOT flipped.
 */
export type CaptureFn = (name: string, layer: number, value: Float64Array) => void;

export interface ReferenceOptions {
  /** patch stride; default: the stride whose token count fits the position table */
  stride?: number;
  /** position table (rows, D) used instead of the checkpoint's, e.g. interpolated for another size */
  posEmbed?: Float32Array;
  capture?: CaptureFn;
  /** layers whose per-direction mixer intermediates are captured (default none) */
  captureLayers?: readonly number[];
  /** which batch element is captured (default 0) */
  captureBatch?: number;
}

export interface ReferenceOutput {
  /** (B, numClasses) */
  logits: Float64Array;
  /** (B, D): the final-normed class token, the head input */
  features: Float64Array;
}

/** Picks the stride for this input and checks the position table has one row per token. */
function resolveGeometry(cfg: VimConfig, posRows: number, height: number, width: number, stride?: number): Geometry {
  const s = stride ?? inferStride({ ...cfg, posRows }, height, width);
  if (s === undefined) {
    throw new ModelShapeError('weights', 'pos_embed',
      `has ${posRows} rows, which fits no patch stride at ${height}x${width}; pass opts.posEmbed (see interpolatePosEmbed) or opts.stride`);
  }
  const g = geometry(cfg, height, width, s);
  if (g.tokens !== posRows) {
    throw new ModelShapeError('weights', 'pos_embed',
      `has ${posRows} rows but ${height}x${width} at stride ${s} gives ${g.tokens} tokens; pass a matching opts.posEmbed`);
  }
  return g;
}

/** [patch_0 … patch_{c−1}, cls, patch_c … patch_{M−1}] + pos, with c = M//2 (docs/model.md §2.2). */
function insertClassToken(patches: Float64Array, g: Geometry, D: number, cls: Float32Array, pos: Float32Array): Float64Array {
  const tokens = new Float64Array(g.tokens * D);
  const c = g.clsIndex;
  tokens.set(patches.subarray(0, c * D), 0);
  tokens.set(cls, c * D);
  tokens.set(patches.subarray(c * D), (c + 1) * D);
  for (let i = 0; i < tokens.length; i++) tokens[i] += pos[i];
  return tokens;
}

interface Model {
  cfg: VimConfig;
  dims: MixerDims;
  g: Geometry;
  layers: LayerParams[];
  sd: StateDict;
  pos: Float32Array;
}

/** One image (3, H, W) → final-normed tokens (L, D). */
function forwardImage(m: Model, img: Float32Array, capture?: CaptureFn, captureLayers?: ReadonlySet<number>): Float64Array {
  const { cfg, dims, g, sd } = m;
  const { L, D } = dims;
  const note = capture ?? (() => {});
  const patches = patchEmbed(img, g.height, g.width, tensorData(sd, 'patch_embed.proj.weight'),
    tensorData(sd, 'patch_embed.proj.bias'), D, cfg.patchSize, g.stride);
  note('patch_embed', -1, patches);
  let residual = insertClassToken(patches, g, D, tensorData(sd, 'cls_token'), m.pos);
  note('tokens', -1, residual);
  for (let i = 0; i < cfg.depth; i++) {
    note('residual', i, residual);
    const mixerIn = rmsNorm(residual, L, D, m.layers[i].norm, cfg.normEps);
    note('mixer_in', i, mixerIn);
    const sink: DirectionSink | undefined = capture && captureLayers?.has(i)
      ? (dir, name, value) => capture(`${dir}_${name}`, i, value)
      : undefined;
    const hidden = mixerForward(mixerIn, dims, m.layers[i], sink);
    note('hidden', i, hidden);
    // Fused add: the mixer output joins the stream before the next norm (or norm_f).
    const next = new Float64Array(residual.length);
    for (let k = 0; k < next.length; k++) next[k] = residual[k] + hidden[k];
    residual = next;
  }
  const out = rmsNorm(residual, L, D, tensorData(sd, 'norm_f.weight'), cfg.normEps);
  note('final_norm', -1, out);
  return out;
}

/** Runs a batch (B, 3, H, W) through the model; see CaptureFn for intermediates. */
export function referenceForward(
  weights: StateDict, cfg: VimConfig, input: Float32Array,
  batch: number, height: number, width: number, opts: ReferenceOptions = {},
): ReferenceOutput {
  const imageSize = 3 * height * width;
  if (input.length !== batch * imageSize) {
    throw new InputError('input', `has ${input.length} values, expected ${batch}x3x${height}x${width} = ${batch * imageSize}`);
  }
  const D = cfg.embedDim;
  const pos = opts.posEmbed ?? tensorData(weights, 'pos_embed');
  if (pos.length % D !== 0) throw new ModelShapeError('weights', 'pos_embed', `override has ${pos.length} values, not a multiple of D = ${D}`);
  const g = resolveGeometry(cfg, pos.length / D, height, width, opts.stride);
  const dims: MixerDims = { L: g.tokens, D, E: cfg.dInner, N: cfg.dState, K: cfg.dConv, R: cfg.dtRank };
  const layers = Array.from({ length: cfg.depth }, (_, i) => layerParams(weights, i));
  const model: Model = { cfg, dims, g, layers, sd: weights, pos };
  const captureLayers = new Set(opts.captureLayers ?? []);
  const captureBatch = opts.captureBatch ?? 0;

  const features = new Float64Array(batch * D);
  for (let b = 0; b < batch; b++) {
    const img = input.subarray(b * imageSize, (b + 1) * imageSize);
    const capture = b === captureBatch ? opts.capture : undefined;
    const out = forwardImage(model, img, capture, captureLayers);
    features.set(out.subarray(g.clsIndex * D, (g.clsIndex + 1) * D), b * D);
  }
  const logits = linear(features, batch, D, tensorData(weights, 'head.weight'), cfg.numClasses,
    tensorData(weights, 'head.bias'));
  return { logits, features };
}
