// Running a checkpoint at an input size it was not trained at (docs/model.md §3): the
// patch stride stays the checkpoint's, the grid follows from the new size, and
// the position table is resized to that grid.
import { InputError, ModelShapeError } from '../errors.js';
import { geometry, type VimConfig } from '../model/config.js';
import { interpolatePosEmbed, type PosEmbedMode } from '../model/pos-embed.js';
import type { StateDict } from '../tensor.js';

export interface InputLayout {
  size: number;
  stride: number;
  grid: [number, number];
}

/**
 * The checkpoint's own input: the size its metadata records, else 224, when its
 * table fits that size at stride P (16) or
 * P/2 (the fine-tuned stride-8 models), else a square grid at stride P. Other
 * strides are not tried: a 401-row table fits 224 at stride 11 too, but it
 * belongs to a 320 input at stride 16.
 */
export function nativeInput(cfg: VimConfig, sizeHint?: number): InputLayout {
  // A size recorded in the file's metadata comes first, if the table fits it.
  for (const size of sizeHint && sizeHint >= cfg.patchSize ? [sizeHint, 224] : [224]) {
    for (const stride of [cfg.patchSize, cfg.patchSize / 2]) {
      if (!Number.isInteger(stride) || stride < 1 || size < cfg.patchSize) continue;
      const g = geometry(cfg, size, size, stride);
      if (g.tokens === cfg.posRows) return { size, stride, grid: [g.gridH, g.gridW] };
    }
  }
  const side = squareGrid(cfg);
  return { size: side * cfg.patchSize, stride: cfg.patchSize, grid: [side, side] };
}

function squareGrid(cfg: VimConfig): number {
  const side = Math.round(Math.sqrt(cfg.posRows - 1));
  if (side * side !== cfg.posRows - 1) {
    throw new ModelShapeError('weights', 'pos_embed', `has ${cfg.posRows} rows, which is no square patch grid plus a class token; pass the input size it was made for`);
  }
  return side;
}

export interface ModelAtResolution extends InputLayout {
  /** The config the GPU model is built with (posRows = the new table's rows). */
  config: VimConfig;
  /** The resized table, or undefined at the native size. */
  posEmbed?: Float32Array;
  interpolation: PosEmbedMode | null;
}

export function atResolution(cfg: VimConfig, tensors: StateDict, resolution: number | undefined, mode: PosEmbedMode, sizeHint?: number): ModelAtResolution {
  const native = nativeInput(cfg, sizeHint);
  const size = resolution ?? native.size;
  if (!Number.isInteger(size) || size < cfg.patchSize) {
    throw new InputError('options', `resolution must be an integer of at least ${cfg.patchSize} (one patch), got ${resolution}`);
  }
  if (size === native.size) return { ...native, config: cfg, interpolation: null };
  const g = geometry(cfg, size, size, native.stride);
  const table = tensors.get('pos_embed');
  if (!table) throw new ModelShapeError('weights', 'pos_embed', 'missing');
  const posEmbed = interpolatePosEmbed(table.data, cfg.embedDim, native.grid, [g.gridH, g.gridW], mode);
  return {
    size, stride: native.stride, grid: [g.gridH, g.gridW],
    config: { ...cfg, posRows: g.tokens }, posEmbed, interpolation: mode,
  };
}
