// Position tables for input sizes a checkpoint was not trained at (docs/model.md §3).
// A checkpoint's pos_embed has one row per token of its own grid; to run it on
// another grid the table must be resized. Two ways:
//  'official'  — what hustvl/Vim's interpolate_pos_embed (the --finetune loader)
//                computes: row 0 is kept as the "extra" token and rows 1.. are
//                treated as the patch grid. For mid-class-token checkpoints row 0 is
//                really patch (0,0) and the class row sits inside the "grid", so this
//                reproduces the authors' quirk, bit-compatible with their recipe.
//  'corrected' — the class row (M//2) is taken out, the true patch grid is resized,
//                and the class row is re-inserted at the new M//2.
// Both resize with PyTorch's F.interpolate(mode='bicubic', align_corners=False).
import { ModelShapeError } from '../errors.js';

export type PosEmbedMode = 'official' | 'corrected';
export type Grid = readonly [rows: number, cols: number];

/** PyTorch's cubic convolution constant for bicubic upsampling. */
const CUBIC_A = -0.75;

/** Kernel weight for |x| ≤ 1 (the two inner taps). */
function cubicInner(x: number): number {
  return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
}

/** Kernel weight for 1 < |x| < 2 (the two outer taps). */
function cubicOuter(x: number): number {
  return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
}

/**
 * For each output index along one axis: 4 source indices (clamped to the edge, as
 * PyTorch's bounded access does) and their weights. align_corners=False maps output
 * index d to source coordinate (d + 0.5)·in/out − 0.5; there is no antialiasing.
 */
function cubicTaps(inSize: number, outSize: number): { index: Int32Array; weight: Float64Array } {
  const index = new Int32Array(outSize * 4), weight = new Float64Array(outSize * 4);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const src = (d + 0.5) * scale - 0.5;
    const base = Math.floor(src), t = src - base;
    const w = [cubicOuter(t + 1), cubicInner(t), cubicInner(1 - t), cubicOuter(2 - t)];
    for (let k = 0; k < 4; k++) {
      index[d * 4 + k] = Math.min(Math.max(base - 1 + k, 0), inSize - 1);
      weight[d * 4 + k] = w[k];
    }
  }
  return { index, weight };
}

/**
 * Bicubic resize of a grid of D-vectors (rows·cols, D), row-major cells, to `to`.
 * Separable: along columns first, then along rows; every channel uses the same taps.
 */
export function bicubicResizeGrid(cells: ArrayLike<number>, D: number, from: Grid, to: Grid): Float64Array {
  const [inH, inW] = from, [outH, outW] = to;
  const tx = cubicTaps(inW, outW), ty = cubicTaps(inH, outH);
  const wide = new Float64Array(inH * outW * D); // (inH, outW, D)
  for (let r = 0; r < inH; r++) {
    for (let c = 0; c < outW; c++) {
      const dst = (r * outW + c) * D;
      for (let k = 0; k < 4; k++) {
        const src = (r * inW + tx.index[c * 4 + k]) * D, w = tx.weight[c * 4 + k];
        for (let i = 0; i < D; i++) wide[dst + i] += w * cells[src + i];
      }
    }
  }
  const out = new Float64Array(outH * outW * D);
  for (let r = 0; r < outH; r++) {
    for (let k = 0; k < 4; k++) {
      const srcRow = ty.index[r * 4 + k] * outW * D, w = ty.weight[r * 4 + k];
      const dstRow = r * outW * D;
      for (let i = 0; i < outW * D; i++) out[dstRow + i] += w * wide[srcRow + i];
    }
  }
  return out;
}

/**
 * Resizes a position table (rows = fromGrid cells + 1 class row, D) to toGrid (see the
 * file comment for the two modes). The official helper handles square grids only; here
 * rectangular grids take the same F.interpolate path with size (rows, cols). When the
 * grids are equal the table is returned unchanged (as the official helper does).
 */
export function interpolatePosEmbed(table: Float32Array, D: number, fromGrid: Grid, toGrid: Grid, mode: PosEmbedMode): Float32Array {
  const fromM = fromGrid[0] * fromGrid[1], toM = toGrid[0] * toGrid[1];
  if (table.length !== (fromM + 1) * D) {
    throw new ModelShapeError('weights', 'pos_embed',
      `has ${table.length / D} rows of ${D}, but a ${fromGrid[0]}x${fromGrid[1]} grid needs ${fromM + 1} (patches + class token)`);
  }
  if (fromGrid[0] === toGrid[0] && fromGrid[1] === toGrid[1]) return table.slice();
  // Which row is set aside: 0 in the official helper ("extra" token), M//2 when corrected.
  const keptFrom = mode === 'official' ? 0 : Math.floor(fromM / 2);
  const keptTo = mode === 'official' ? 0 : Math.floor(toM / 2);
  const cells = new Float64Array(fromM * D);
  cells.set(table.subarray(0, keptFrom * D), 0);
  cells.set(table.subarray((keptFrom + 1) * D), keptFrom * D);
  const resized = bicubicResizeGrid(cells, D, fromGrid, toGrid);
  const out = new Float32Array((toM + 1) * D);
  out.set(resized.subarray(0, keptTo * D), 0);
  out.set(table.subarray(keptFrom * D, (keptFrom + 1) * D), keptTo * D);
  out.set(resized.subarray(keptTo * D), (keptTo + 1) * D);
  return out;
}
