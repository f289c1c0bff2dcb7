// Vim-Ti (procedural fixture weights, 24 layers) at other resolutions through
// the API's engine: 384 in 'official' mode against the logits of the authors'
// helper (fixture), and 320 in 'corrected' mode against the float64 reference
// given the same table. atol = rtol = 1e-3. About 45 s on a software GPU.
// (320 'official' is in api-resolution.test.ts.)
import { afterAll, beforeAll, expect, test } from 'vitest';
import { compare, readBin, readManifest } from './fixtures.js';
import { WebGpuEngine } from '../src/engine/webgpu-engine.js';
import { interpolatePosEmbed } from '../src/index.js';
import { writeSafetensors } from '../src/weights/index.js';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { referenceForward } from '../src/reference/vim.js';
import { nodeWebGpu } from '../src/platform/node.js';

const c = readManifest().cases.vim_ti_224;
const cfg = proceduralConfig(c.embed_dim, c.seq_len, c.depth);
const sd = proceduralWeights(cfg, c.procedural!.seed);
const weights = writeSafetensors(sd);
let gpu: GPU;
let engine: WebGpuEngine | undefined;
beforeAll(async () => { gpu = await nodeWebGpu(); });
afterAll(async () => { await engine?.dispose(); });

function expectClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const r = compare(actual, expected, 1e-3, 1e-3);
  console.log(`${what}: max |Δlogit| ${r.maxAbs.toExponential(2)}`);
  expect(r.ok, `${what}: max |Δ| ${r.maxAbs}`).toBe(true);
}

test('384, official: equals the fixture logits', async () => {
  engine = new WebGpuEngine({ gpu });
  await engine.load({ weights, dtype: 'f32', resolution: 384, interpolation: 'official', maxBatch: 1 });
  const { logits } = await engine.infer([readBin('vim_ti_224_to_384_input.bin')]);
  expectClose('vim_ti_224 → 384 (official)', logits, readBin('vim_ti_224_to_384_logits.bin'));
  await engine.dispose();
  engine = undefined;
});

test('320, corrected: equals the reference with the same table', async () => {
  engine = new WebGpuEngine({ gpu });
  await engine.load({ weights, dtype: 'f32', resolution: 320, interpolation: 'corrected', maxBatch: 1 });
  const input = readBin('vim_input_320.bin');
  const { logits } = await engine.infer([input]);
  const posEmbed = interpolatePosEmbed(sd.get('pos_embed')!.data, cfg.embedDim, [14, 14], [20, 20], 'corrected');
  const ref = referenceForward(sd, { ...cfg, posRows: 401 }, input, 1, 320, 320, { stride: 16, posEmbed }).logits;
  expectClose('vim_ti_224 → 320 (corrected)', logits, ref);
  // The corrected table is not the official one: the logits differ from the official-mode fixture.
  expect(compare(logits, readBin('vim_ti_224_to_320_logits.bin'), 1e-3, 1e-3).ok).toBe(false);
});
