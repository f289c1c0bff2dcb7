// Position-table interpolation for running a 224 checkpoint at other sizes.
// 'official' must reproduce hustvl/Vim's interpolate_pos_embed (fixture tables,
// 1e-5) and, fed to the reference, the fixture logits (atol = rtol = 1e-4).
// 'corrected' is checked by its own properties.
import { describe, expect, it } from 'vitest';
import { ModelShapeError } from '../src/errors.js';
import { interpolatePosEmbed } from '../src/model/pos-embed.js';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { referenceForward } from '../src/reference/vim.js';
import { compare, readBin, readManifest } from './fixtures.js';
import { errorLog } from './reference-support.js';

const D = 192;

function tiWeights() {
  const c = readManifest().cases.vim_ti_224;
  const cfg = proceduralConfig(c.embed_dim, c.seq_len, c.depth);
  return { cfg, weights: proceduralWeights(cfg, c.procedural!.seed) };
}

/** A table whose grid rows sample f at the cell centres, with a marker class row at M//2. */
function smoothTable(grid: number, dim: number, cls: number): Float32Array {
  const M = grid * grid, out = new Float32Array((M + 1) * dim);
  for (let m = 0; m < M; m++) {
    const y = (Math.floor(m / grid) + 0.5) / grid, x = ((m % grid) + 0.5) / grid;
    const row = m < Math.floor(M / 2) ? m : m + 1; // skip the class row
    for (let i = 0; i < dim; i++) out[row * dim + i] = Math.sin(2 * x + 0.3 * i) * Math.cos(1.5 * y - 0.2 * i);
  }
  out.fill(cls, Math.floor(M / 2) * dim, (Math.floor(M / 2) + 1) * dim);
  return out;
}

describe('interpolatePosEmbed', () => {
  for (const size of [320, 384]) {
    const grid = size / 16;
    it(`official 14x14 → ${grid}x${grid} matches interpolate_pos_embed; logits with it match`, () => {
      const { cfg, weights } = tiWeights();
      const table = interpolatePosEmbed(weights.get('pos_embed')!.data, D, [14, 14], [grid, grid], 'official');
      const expected = readBin(`vim_ti_224_to_${size}_pos_embed_official.bin`);
      const { maxAbs, ok } = compare(table, expected, 1e-5, 0);
      expect(ok, `pos_embed max |Δ| ${maxAbs}`).toBe(true);
      const input = readBin(size === 320 ? 'vim_input_320.bin' : 'vim_ti_224_to_384_input.bin');
      const out = referenceForward(weights, cfg, input, 1, size, size, { posEmbed: table });
      const log = errorLog();
      log.check('logits', out.logits, readBin(`vim_ti_224_to_${size}_logits.bin`));
      console.log(`vim_ti_224_to_${size}: pos_embed max abs error ${maxAbs.toExponential(2)}`);
      log.print(`vim_ti_224_to_${size}`);
    });
  }

  it('equal grids return the table unchanged, in both modes', () => {
    const table = smoothTable(14, 8, 0.5);
    for (const mode of ['official', 'corrected'] as const) {
      expect(Array.from(interpolatePosEmbed(table, 8, [14, 14], [14, 14], mode))).toEqual(Array.from(table));
    }
  });

  /** Max |Δ| to the smooth target over interior cells and over the three-cell border (where clamped taps act). */
  function gridError(out: Float32Array, target: Float32Array, grid: number, dim: number) {
    const cls = Math.floor((grid * grid) / 2);
    let interior = 0, edge = 0;
    for (let m = 0; m < grid * grid; m++) {
      const r = Math.floor(m / grid), c = m % grid, row = m < cls ? m : m + 1;
      const isEdge = r < 3 || c < 3 || r >= grid - 3 || c >= grid - 3;
      for (let i = 0; i < dim; i++) {
        const d = Math.abs(out[row * dim + i] - target[row * dim + i]);
        if (isEdge) edge = Math.max(edge, d); else interior = Math.max(interior, d);
      }
    }
    return { interior, edge };
  }

  it('corrected keeps the class row at the new M//2 and reproduces a smooth grid closely', () => {
    const dim = 4, from = 14, to = 20;
    const table = smoothTable(from, dim, 7), target = smoothTable(to, dim, 7);
    const corrected = interpolatePosEmbed(table, dim, [from, from], [to, to], 'corrected');
    const cls = Math.floor((to * to) / 2);
    expect(Array.from(corrected.subarray(cls * dim, (cls + 1) * dim))).toEqual([7, 7, 7, 7]);
    // Bicubic with A = -0.75 does not reproduce linear functions exactly (only A = -0.5
    // does), so even a function this smooth (|f'| <= 2, cell 1/14) is only reproduced
    // to ~0.047·|f'|/14 ≈ 7e-3, worse where clamping acts.
    const good = gridError(corrected, target, to, dim);
    expect(good.interior).toBeLessThan(1e-2);
    expect(good.edge).toBeLessThan(3e-2);
    // Contrast: the official quirk shifts half the grid by one cell (and drops patch
    // (0,0) into the extra slot), a much larger error on the same target.
    const quirk = gridError(interpolatePosEmbed(table, dim, [from, from], [to, to], 'official'), target, to, dim);
    expect(quirk.interior).toBeGreaterThan(5 * good.interior);
    console.log(`corrected vs smooth target: interior ${good.interior.toExponential(2)}, edge ${good.edge.toExponential(2)}; `
      + `official quirk interior ${quirk.interior.toExponential(2)}`);
  });

  it('official treats row 0 as the extra token: it differs from corrected on mid-cls tables', () => {
    const table = smoothTable(14, 4, 7);
    const official = interpolatePosEmbed(table, 4, [14, 14], [20, 20], 'official');
    const corrected = interpolatePosEmbed(table, 4, [14, 14], [20, 20], 'corrected');
    expect(Array.from(official.subarray(0, 4))).toEqual(Array.from(table.subarray(0, 4)));
    expect(compare(official, corrected, 1e-3, 0).ok).toBe(false);
  });

  it('rejects a table whose row count does not fit the source grid', () => {
    expect(() => interpolatePosEmbed(new Float32Array(196 * D), D, [14, 14], [20, 20], 'official')).toThrow(ModelShapeError);
  });
});
