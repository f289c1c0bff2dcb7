// The numerics guard: NaN or infinity in weights, inputs or logits ends in a
// NumericsError that says where, never in a confident label computed from garbage.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NumericsError } from '../src/errors.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { VimGpu } from '../src/model/vim-gpu.js';
import { firstNonFinite, validateFinite } from '../src/weights/finite.js';
import { bufferSource, loadVimWeights, writeSafetensors } from '../src/weights/index.js';
import { createClassifier } from '../src/index.js';
import type { StateDict } from '../src/tensor.js';
import { readBin } from './fixtures.js';
import { testGpu } from './gpu.js';
import { buildPth, fixtureBytes } from './weights-helpers.js';

const tiny = fixtureBytes('tiny.pth');
let sd: StateDict;
const copy = (s: StateDict): StateDict => new Map([...s].map(([k, t]) => [k, { shape: t.shape, data: t.data.slice() }]));

beforeAll(async () => { sd = (await loadVimWeights(bufferSource('tiny.pth', tiny))).tensors; });

describe('weights', () => {
  test('firstNonFinite finds NaN, +Inf and -Inf, and nothing in finite data (incl. -0 and denormals)', () => {
    expect(firstNonFinite(new Float32Array([0, -0, 1e-45, 3.4e38, -3.4e38]))).toBe(-1);
    expect(firstNonFinite(new Float32Array([1, 2, NaN]))).toBe(2);
    expect(firstNonFinite(new Float32Array([Infinity]))).toBe(0);
    expect(firstNonFinite(new Float32Array([1, -Infinity]))).toBe(1);
  });

  test.each([NaN, Infinity, -Infinity])('%s in a safetensors file: NumericsError at load naming the tensor and element', async (v) => {
    const bad = copy(sd);
    bad.get('layers.1.mixer.dt_proj.bias')!.data[5] = v;
    const e = await loadVimWeights(bufferSource('bad.safetensors', writeSafetensors(bad))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NumericsError);
    expect((e as Error).message).toMatch(/bad\.safetensors: tensor 'layers\.1\.mixer\.dt_proj\.bias' holds .* at element 5/);
  });

  test('NaN in a float16 .pth record: NumericsError (the decoded value is checked, not the bits)', async () => {
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0x7e]); // 1.0, NaN
    const specs = [...sd].map(([name, t], i) => ({ name, shape: t.shape, record: new Uint8Array(t.data.buffer.slice(0)), key: String(i) }));
    const sdPth = buildPth(specs.map((s) => (s.name === 'norm_f.weight' ? { ...s, shape: [2], record: half, storageType: 'HalfStorage' } : s)));
    // The shape no longer fits the model, so read the state dict alone and validate it.
    const { readStateDict } = await import('../src/weights/index.js');
    expect(() => validateFinite(new Map([['x', { shape: [2], data: new Float32Array([1, NaN]) }]]), 'f')).toThrow(NumericsError);
    const read = await readStateDict(bufferSource('half.pth', sdPth));
    expect(() => validateFinite(read, 'half.pth')).toThrow(/tensor 'norm_f\.weight' holds NaN at element 1/);
  });
});

describe('VimGpu', () => {
  let ctx: GpuContext;
  beforeAll(async () => { ctx = await testGpu(); });
  afterAll(() => releaseGpu(ctx));

  test('a NaN pixel: NumericsError naming image, channel and pixel, before any GPU work', async () => {
    const vim = new VimGpu(ctx, (await loadVimWeights(bufferSource('tiny.pth', tiny))).config, sd);
    const input = readBin('tiny_batch2_input.bin').slice();
    input[1 * 3 * 64 * 64 + 2 * 64 * 64 + 10 * 64 + 7] = NaN;   // image 1, channel 2, (x 7, y 10)
    const e = await vim.forward(input, 2, 64, 64).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NumericsError);
    expect((e as Error).message).toBe('input: image 1, channel 2, pixel (7, 10) is NaN; inputs must be finite');
    // The model still works for a good input.
    const ok = await vim.forward(readBin('tiny_input.bin'), 1, 64, 64);
    expect(firstNonFinite(ok)).toBe(-1);
    vim.dispose();
  });

  test('weights that make the logits NaN or overflow to infinity: NumericsError, not a label', async () => {
    const cfg = (await loadVimWeights(bufferSource('tiny.pth', tiny))).config;
    // A NaN weight; and finite weights whose products exceed float32's range (1e20 · 1e20).
    for (const [what, poison] of [['NaN in norm_f', (s: StateDict) => { s.get('norm_f.weight')!.data[3] = NaN; }],
      ['overflow', (s: StateDict) => { s.get('norm_f.weight')!.data.fill(1e20); s.get('head.weight')!.data.fill(1e20); }]] as const) {
      const bad = copy(sd);
      poison(bad);
      // Overflowing weights are finite: only the logit check can catch them.
      if (what === 'overflow') expect(() => validateFinite(bad)).not.toThrow();
      const vim = new VimGpu(ctx, cfg, bad);
      const e = await vim.forward(readBin('tiny_input.bin'), 1, 64, 64).catch((x: unknown) => x);
      expect(e, what).toBeInstanceOf(NumericsError);
      expect((e as Error).message).toMatch(/^logits: logit \d+ is (NaN|-?Infinity)/);
      const f = await vim.forwardWithFeatures(readBin('tiny_input.bin'), 1, 64, 64).catch((x: unknown) => x);
      expect(f).toBeInstanceOf(NumericsError);
      vim.dispose();
    }
  });
});

describe('public API', () => {
  test('a checkpoint holding NaN: createClassifier rejects with NumericsError', async () => {
    const bad = copy(sd);
    bad.get('pos_embed')!.data[0] = NaN;
    const e = await createClassifier({ weights: writeSafetensors(bad) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NumericsError);
  });

  // The API runs its own submission (src/api/gpu-engine.ts), so VimGpu's input and logit
  // checks do not cover it: a check in the API is needed (reported to its owner).
  test.todo('API: a Float32Array input holding NaN → NumericsError (check belongs in src/api)');
});
