// vim-proc-v1 must rebuild the fixture weights bit for bit: every tensor's sha256 of
// its float32 bytes, its first four values (exact) and its float64 sum are in the manifest.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { proceduralConfig, proceduralHash, proceduralWeights } from '../src/model/procedural.js';
import { readManifest } from './fixtures.js';

function sha256(data: Float32Array): string {
  // Float32Array bytes are little-endian on every platform Node runs on.
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

/** Float64 sum and the sum of magnitudes (the scale a reordering error is relative to). */
function sums(data: Float32Array): { sum: number; abs: number } {
  let s = 0, a = 0;
  for (let i = 0; i < data.length; i++) { s += data[i]; a += Math.abs(data[i]); }
  return { sum: s, abs: a };
}

describe('procedural weights (vim-proc-v1)', () => {
  it('hash is unsigned 32-bit', () => {
    for (const [s, t, i] of [[0, 0, 0], [20240217, 414, 1 << 20], [0xffffffff, 7, 123456789]]) {
      const h = proceduralHash(s, t, i);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
    }
  });

  for (const name of ['vim_ti_224', 'vim_ti_s8_224', 'vim_ti_320', 'vim_s_224']) {
    it(`${name}: every listed tensor matches sha256, first4 and sum`, () => {
      const c = readManifest().cases[name];
      const proc = c.procedural!;
      const sd = proceduralWeights(proceduralConfig(c.embed_dim, c.seq_len, c.depth), proc.seed);
      expect(sd.size).toBe(6 + 17 * c.depth + 1);
      const names = [...sd.keys()];
      for (const want of proc.tensors) {
        const got = sd.get(want.name);
        expect(got, want.name).toBeDefined();
        expect(names.indexOf(want.name), `${want.name} position`).toBe(want.index);
        expect(got!.shape).toEqual(want.shape);
        expect(Array.from(got!.data.subarray(0, 4)), `${want.name} first4`).toEqual(want.first4);
        // Summation order is ours vs numpy's: only the last few digits may differ.
        const { sum, abs } = sums(got!.data);
        expect(Math.abs(sum - want.sum), `${want.name} sum`).toBeLessThanOrEqual(1e-12 * abs);
        expect(sha256(got!.data), `${want.name} sha256`).toBe(want.sha256);
      }
      // The shared-seed cases list only pos_embed; the full list is checked via vim_ti_224.
      expect(proc.tensors.length).toBe(proc.tensors_from ? 1 : sd.size);
    });
  }
});
