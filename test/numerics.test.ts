// The numerics guard: NaN or infinity in weights, inputs or logits ends in a
// NumericsError that says where, never in a confident label computed from garbage.
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
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
import { tinyFile } from './stream-helpers.js';
import { convertWeights } from '../src/weights/convert.js';
import { floatToHalf } from '../src/weights/dtype.js';
import { readVimFileHeader, readVimFileStateDict } from '../src/weights/format-read.js';
import { concatVimFile, writeEngineFile } from '../src/weights/format-write.js';

import { loadWeights } from '../src/weights/stream-loader.js';
import type { WeightDType } from '../src/weights/weight-dtype.js';

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
    expect((e as Error).message).toBe(`input: image 1, element ${2 * 64 * 64 + 10 * 64 + 7} (channel 2, pixel (7, 10)) is NaN; inputs must be finite`);
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

  /** Fresh random (3, 64, 64) inputs, with `value` at a random element when given. */
  const randomInput = (value?: number) => {
    const x = Float32Array.from({ length: 3 * 64 * 64 }, () => Math.random() * 4 - 2);
    const at = Math.floor(Math.random() * x.length);
    if (value !== undefined) x[at] = value;
    const where = `element ${at} \\(channel ${Math.floor(at / 4096)}, pixel \\(${at % 64}, ${Math.floor((at % 4096) / 64)}\\)\\)`;
    return { x, where };
  };

  // Both in-thread engines: the GPU engine submits its own work (not VimGpu's), so the guard sits in the API.
  describe.each(['webgpu', 'cpu'] as const)('%s engine', (device) => {
    test('NaN or +Inf in a preprocessed Float32Array: NumericsError naming image and element; good inputs still work', async () => {
      const c = await createClassifier({ weights: tiny, device });
      try {
        const nan = randomInput(NaN), inf = randomInput(Infinity), ninf = randomInput(-Infinity);
        const e1 = await c.classify(nan.x).catch((x: unknown) => x);
        expect(e1).toBeInstanceOf(NumericsError);
        expect((e1 as Error).message).toMatch(new RegExp(`^input: image 0, ${nan.where} is NaN; inputs must be finite$`));
        const e2 = await c.classifyBatch([randomInput().x, inf.x]).catch((x: unknown) => x);
        expect(e2).toBeInstanceOf(NumericsError);
        expect((e2 as Error).message).toMatch(new RegExp(`^input: image 1, ${inf.where} is Infinity`));
        const e3 = await c.features(ninf.x).catch((x: unknown) => x);
        expect(e3).toBeInstanceOf(NumericsError);
        expect((e3 as Error).message).toMatch(new RegExp(`^input: image 0, ${ninf.where} is -Infinity`));
        const ok = await c.classify(randomInput().x);
        expect(ok.every((p) => Number.isFinite(p.score))).toBe(true);
      } finally {
        await c.dispose();
      }
    });

    test('finite weights whose logits overflow: classify and features reject with NumericsError, not a label', async () => {
      const bad = copy(sd);
      bad.get('norm_f.weight')!.data.fill(1e20);
      bad.get('head.weight')!.data.fill(1e20);
      const c = await createClassifier({ weights: writeSafetensors(bad), device });
      try {
        const e = await c.classify(randomInput().x).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(NumericsError);
        expect((e as Error).message).toMatch(/^logits: logit \d+ is (NaN|-?Infinity)/);
        expect(await c.features(randomInput().x).catch((x: unknown) => x)).toBeInstanceOf(NumericsError);
      } finally {
        await c.dispose();
      }
    });
  });

  test('a vim-webgpu file holding NaN (hashes valid): createClassifier rejects with NumericsError naming the tensor', async () => {
    for (const device of ['webgpu', 'cpu'] as const) {
      const e = await createClassifier({ weights: await poisoned('f16', 'layers.1.mixer.in_proj.weight', 11, NaN), device }).catch((x: unknown) => x);
      expect(e, device).toBeInstanceOf(NumericsError);
      expect((e as Error).message).toMatch(/tensor 'layers\.1\.mixer\.in_proj\.weight' holds NaN at element 11/);
    }
  });
});

/**
 * A tiny vim-webgpu file of this dtype with one element of one entry replaced,
 * written by the real writer, so its hashes are valid and only the value is wrong.
 */
async function poisoned(dtype: WeightDType, tensor: string, index: number, value: number): Promise<Uint8Array> {
  const file = await tinyFile(dtype);
  const h = await readVimFileHeader(bufferSource('t', file));
  const entries = h.entries.filter((e) => e.kind !== 'pad').map((e) => ({
    name: e.name, dtype: e.dtype, shape: e.shape, bytes: file.slice(h.dataStart + e.begin, h.dataStart + e.end),
  }));
  const target = entries.find((e) => e.name === tensor)!;
  if (target.dtype === 'F32') new Float32Array(target.bytes.buffer)[index] = value;
  else if (target.dtype === 'F16') new Uint16Array(target.bytes.buffer)[index] = floatToHalf(value);
  else throw new Error(`${tensor} is ${target.dtype}: int8 values cannot be non-finite`);
  return concatVimFile(await writeEngineFile(entries, { config: h.config, target: h.target, quantization: JSON.parse(h.metadata.quantization) }));
}

describe('vim-webgpu files: NaN/Inf in f32, f16 and int8 scales is refused on every path, naming the tensor', () => {
  let ctx: GpuContext;
  let baseline = 0;
  beforeAll(async () => { ctx = await testGpu(); baseline = ctx.buffers.liveCount; });
  afterAll(() => releaseGpu(ctx));

  const cases: Array<[WeightDType, string, number, number, string]> = [
    ['f32', 'layers.0.mixer.D', 3, NaN, 'F32'],
    ['f32', 'pos_embed', 17, -Infinity, 'F32'],
    ['f16', 'head.weight', 7, Infinity, 'F16'],
    ['f16', 'layers.0.mixer.x_proj.weight', 0, NaN, 'F16'],
    ['int8', 'head.weight.scale', 2, NaN, 'F32'],
    ['int8', 'layers.1.mixer.out_proj.weight.scale', 5, Infinity, 'F32'],
  ];

  test.each(cases)('%s file, %s[%d] = %s (%s): stream loader, host reader and converter', async (dtype, tensor, index, value, stored) => {
    const file = await poisoned(dtype, tensor, index, value);
    expect((await readVimFileHeader(bufferSource('p', file))).entries.find((e) => e.name === tensor)!.dtype).toBe(stored);
    const message = new RegExp(`tensor '${tensor.replace(/\./g, '\\.')}' holds ${value} at element ${index}`);
    // Straight to the GPU: refused after its buffers exist, and every one of them freed.
    const live = vi.fn();
    const e = await loadWeights(ctx, file, { cache: false, chunkSize: 4096, onProgress: () => live(ctx.buffers.liveCount) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NumericsError);
    expect((e as Error).message).toMatch(message);
    expect(Math.max(...live.mock.calls.map((c) => c[0]))).toBeGreaterThan(baseline);
    expect(ctx.buffers.liveCount).toBe(baseline);
    // The host copy (the API's in-thread engines) and a re-conversion.
    await expect(readVimFileStateDict(bufferSource('p.vimw', file))).rejects.toThrow(message);
    await expect(readVimFileStateDict(bufferSource('p.vimw', file))).rejects.toBeInstanceOf(NumericsError);
    const c = await convertWeights(bufferSource('p.vimw', file), { dtype: 'f32' }).catch((x: unknown) => x);
    expect(c).toBeInstanceOf(NumericsError);
  });

  test('control: the same rewrite with a finite value loads and runs', async () => {
    const r = await loadWeights(ctx, await poisoned('int8', 'head.weight.scale', 2, 0.01), { cache: false });
    const vim = new VimGpu(ctx, r.config, r.weights);
    expect(firstNonFinite(await vim.forward(readBin('tiny_input.bin'), 1, 64, 64))).toBe(-1);
    vim.dispose();
    expect(ctx.buffers.liveCount).toBe(baseline);
  });

  test('converting a safetensors or .pth source holding NaN: NumericsError, no file written (f16 would keep it silently)', async () => {
    const bad = copy(sd);
    bad.get('layers.0.mixer.in_proj.weight')!.data[9] = NaN;
    for (const dtype of ['f32', 'f16', 'int8'] as const) {
      const e = await convertWeights(bufferSource('bad.safetensors', writeSafetensors(bad)), { dtype }).catch((x: unknown) => x);
      expect(e, dtype).toBeInstanceOf(NumericsError);
      expect((e as Error).message).toMatch(/bad\.safetensors: tensor 'layers\.0\.mixer\.in_proj\.weight' holds NaN at element 9/);
    }
    // Through the streaming loader, which converts on the way in.
    const e = await loadWeights(ctx, writeSafetensors(bad), { cache: false, dtype: 'f16' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NumericsError);
    expect(ctx.buffers.liveCount).toBe(baseline);
  });
});
