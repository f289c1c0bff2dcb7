// The `resolution` option: at the native size nothing changes; at other sizes
// the WebGPU logits equal the float64 reference run with the same
// interpolated position table (atol = rtol = 1e-3), in both modes; 'official'
// mode reproduces the logits of the authors' helper (fixtures); stride-8
// checkpoints keep stride 8. Engines are driven directly to compare logits.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compare, readBin, readManifest } from './fixtures.js';
import { WebGpuEngine } from '../src/engine/webgpu-engine.js';
import type { LoadRequest } from '../src/engine/engine.js';
import { createClassifier, interpolatePosEmbed, type Interpolation } from '../src/index.js';
import { loadVimWeights, bufferSource, writeSafetensors } from '../src/weights/index.js';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { referenceForward } from '../src/reference/vim.js';
import { topK } from '../src/model/top-k.js';
import { nodeWebGpu } from '../src/platform/node.js';
import type { VimConfig } from '../src/model/config.js';
import type { StateDict } from '../src/tensor.js';
import { tensor, tinyWeights } from './api-support.js';

let gpu: GPU;
const engines: WebGpuEngine[] = [];
beforeAll(async () => { gpu = await nodeWebGpu(); });
afterAll(async () => { for (const e of engines) await e.dispose(); });

async function engine(weights: Uint8Array, resolution: number | undefined, interpolation: Interpolation): Promise<WebGpuEngine> {
  const e = new WebGpuEngine({ gpu });
  engines.push(e);
  const req: LoadRequest = { weights, dtype: 'f32', resolution, interpolation, maxBatch: 1 };
  await e.load(req);
  return e;
}

const logits = async (e: WebGpuEngine, input: Float32Array) => (await e.infer([input])).logits;

/** Reference logits with the table resized independently of the API. */
function reference(sd: StateDict, cfg: VimConfig, input: Float32Array, size: number, stride: number, from: number, to: number, mode: Interpolation): Float64Array {
  const posEmbed = interpolatePosEmbed(sd.get('pos_embed')!.data, cfg.embedDim, [from, from], [to, to], mode);
  return referenceForward(sd, { ...cfg, posRows: to * to + 1 }, input, 1, size, size, { stride, posEmbed }).logits;
}

function expectClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-3): void {
  const r = compare(actual, expected, tol, tol);
  console.log(`${what}: max |Δlogit| ${r.maxAbs.toExponential(2)}`);
  expect(r.ok, `${what}: max |Δ| ${r.maxAbs}`).toBe(true);
}

describe('tiny (64 px, 4x4 grid)', () => {
  test('at the native size the logits are unchanged and nothing is interpolated', async () => {
    const input = readBin('tiny_input.bin');
    const auto = await engine(tinyWeights(), undefined, 'corrected');
    const explicit = await engine(tinyWeights(), 64, 'official');
    const a = await logits(auto, input), b = await logits(explicit, input);
    expect(Array.from(a)).toEqual(Array.from(b));
    expectClose('tiny native vs official logits', a, readBin('tiny_logits.bin'), 1e-4);
    const c = await createClassifier({ weights: tinyWeights(), resolution: 64 });
    expect(c.info()).toMatchObject({ resolution: 64, interpolation: null, grid: [4, 4] });
    await c.dispose();
  });

  test('96 and 128 px in both modes: WebGPU = reference with the same table', async () => {
    const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', tinyWeights()));
    for (const mode of ['official', 'corrected'] as const) {
      for (const size of [96, 128]) {
        const e = await engine(tinyWeights(), size, mode);
        const input = tensor('tiny', size);
        expectClose(`tiny ${mode} @ ${size}`, await logits(e, input), reference(tensors, config, input, size, 16, 4, size / 16, mode));
        expect((await e.info()).memoryBytes).toBeGreaterThan(0);
      }
    }
    // The two modes give different tables, hence different logits.
    const o = await logits(await engine(tinyWeights(), 96, 'official'), tensor('tiny', 96));
    const c = await logits(await engine(tinyWeights(), 96, 'corrected'), tensor('tiny', 96));
    expect(compare(o, c, 1e-4, 0).ok).toBe(false);
  });

  test('the public API at 96 px: info reports the new grid, a 96 px tensor is required', async () => {
    const c = await createClassifier({ weights: tinyWeights(), resolution: 96, interpolation: 'official' });
    expect(c.info()).toMatchObject({ resolution: 96, grid: [6, 6], stride: 16, interpolation: 'official' });
    const [best] = await c.classify(tensor('tiny', 96));
    const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', tinyWeights()));
    expect(best.index).toBe(topK(reference(tensors, config, tensor('tiny', 96), 96, 16, 4, 6, 'official'), 1)[0].index);
    await expect(c.classify(tensor('tiny', 64))).rejects.toThrow(/3x96x96/);
    await c.dispose();
  });
});

describe('stride-8 checkpoints keep stride 8', () => {
  test('a 730-row table (stride 8 at 224) run at 160 px: grid 19x19, WebGPU = reference', async () => {
    // Two layers of width 32 with the Vim-Ti+ token layout, so the reference stays quick.
    const cfg = proceduralConfig(32, 730, 2);
    const sd = proceduralWeights(cfg, 7);
    const weights = writeSafetensors(sd);
    const e = await engine(weights, 160, 'corrected');
    const input = tensor('coffee', 160);
    expectClose('stride 8 @ 160', await logits(e, input), reference(sd, cfg, input, 160, 8, 27, 19, 'corrected'));
    const c = await createClassifier({ weights, resolution: 160 });
    expect(c.info()).toMatchObject({ stride: 8, grid: [19, 19], resolution: 160 });
    await c.dispose();
  });
});

describe('Vim-Ti (procedural weights) at 320 with the official helper', () => {
  test('logits equal the fixture computed from the authors\' interpolate_pos_embed', async () => {
    const c = readManifest().cases.vim_ti_224;
    const sd = proceduralWeights(proceduralConfig(c.embed_dim, c.seq_len, c.depth), c.procedural!.seed);
    const e = await engine(writeSafetensors(sd), 320, 'official');
    expectClose('vim_ti_224 → 320 (official)', await logits(e, readBin('vim_input_320.bin')), readBin('vim_ti_224_to_320_logits.bin'));
  });
});
