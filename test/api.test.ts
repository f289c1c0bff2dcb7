// createClassifier in Node (Dawn) on the tiny fixture model: every Node input
// type, batches, features, info, the CPU backend, concurrency and dispose.
// Tolerances: GPU logits vs the official ones ≤ 1e-4 (the engine's own test);
// softmax scores GPU vs CPU ≤ 1e-5; identical inputs give identical scores.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readBin, compare } from './fixtures.js';
import { createClassifier, type Classifier } from '../src/index.js';
import { softmax, topK } from '../src/model/top-k.js';
import { DisposedError } from '../src/errors.js';
import { blob, rawPixels, rejection, tensor, tinyWeights } from './api-support.js';

let gpu: Classifier;
let cpu: Classifier;
beforeAll(async () => {
  gpu = await createClassifier({ weights: tinyWeights() });
  cpu = await createClassifier({ weights: tinyWeights(), device: 'cpu' });
});
afterAll(async () => {
  await gpu?.dispose();
  await cpu?.dispose();
});

const official = softmax(readBin('tiny_logits.bin'));
const officialTop1 = topK(official, 1)[0].index;

describe('classify', () => {
  test('raw pixels, Blob and a preprocessed Float32Array agree with the official logits and the CPU path', async () => {
    for (const input of [rawPixels('tiny'), blob('tiny'), tensor('tiny', 64), readBin('tiny_input.bin')]) {
      const g = await gpu.classify(input, { topK: 10 });
      const c = await cpu.classify(input, { topK: 10 });
      expect(g[0].index).toBe(officialTop1);
      expect(c[0].index).toBe(officialTop1);
      expect(g.map((p) => p.index)).toEqual(c.map((p) => p.index));
      for (const p of g) {
        expect(Math.abs(p.score - official[p.index])).toBeLessThan(1e-5);
        expect(Math.abs(p.score - c.find((q) => q.index === p.index)!.score)).toBeLessThan(1e-5);
      }
    }
  });

  test('top-k: default 5, sorted, softmax over all classes, labels for a 10-way head', async () => {
    const r = await gpu.classify(rawPixels('tiny'));
    expect(r).toHaveLength(5);
    expect(r[0]).toEqual({ index: officialTop1, label: `class ${officialTop1}`, score: expect.any(Number) });
    for (let i = 1; i < r.length; i++) expect(r[i].score).toBeLessThanOrEqual(r[i - 1].score);
    const all = await gpu.classify(rawPixels('tiny'), { topK: 1000 });
    expect(all).toHaveLength(10);
    expect(all.reduce((s, p) => s + p.score, 0)).toBeCloseTo(1, 6);
  });

  test('RGBA, gray and padded-free channel inference from the byte count', async () => {
    const rgb = rawPixels('tiny');
    const n = rgb.width * rgb.height, rgba = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) { rgba.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4); rgba[i * 4 + 3] = 255; }
    const a = await gpu.classify({ data: rgba, width: rgb.width, height: rgb.height }, { topK: 10 });
    const b = await gpu.classify(rgb, { topK: 10 });
    expect(a).toEqual(b);
  });

  test('classifyBatch equals one-by-one, across maxBatch chunks', async () => {
    const small = await createClassifier({ weights: tinyWeights(), maxBatch: 2 });
    try {
      const inputs = [rawPixels('tiny'), rawPixels('coffee'), blob('rocket'), tensor('coffee', 64), rawPixels('rocket')];
      const batch = await small.classifyBatch(inputs, { topK: 10 });
      const single = await Promise.all(inputs.map((x) => gpu.classify(x, { topK: 10 })));
      expect(batch).toHaveLength(5);
      batch.forEach((r, i) => r.forEach((p, j) => {
        expect(p.index).toBe(single[i][j].index);
        expect(Math.abs(p.score - single[i][j].score)).toBeLessThan(1e-6);
      }));
    } finally {
      await small.dispose();
    }
  });
});

describe('features', () => {
  test('class token = official features, patches = final-norm rows without the class row', async () => {
    const f = await gpu.features(readBin('tiny_input.bin'));
    expect(f.grid).toEqual([4, 4]);
    expect(f.dim).toBe(32);
    expect(compare(f.cls, readBin('tiny_features.bin'), 1e-4, 1e-4).ok).toBe(true);
    const norm = readBin('tiny_final_norm.bin'); // (17, 32), class token at row 8
    const expected = new Float32Array(16 * 32);
    expected.set(norm.subarray(0, 8 * 32), 0);
    expected.set(norm.subarray(9 * 32), 8 * 32);
    expect(compare(f.patches, expected, 1e-4, 1e-4).ok).toBe(true);
    const c = await cpu.features(readBin('tiny_input.bin'));
    expect(compare(c.patches, f.patches, 1e-4, 1e-4).ok).toBe(true);
  });
});

describe('info', () => {
  test('reports backend, adapter, model, resolution and memory', () => {
    const i = gpu.info();
    expect(i).toMatchObject({ backend: 'webgpu', dtype: 'f32', resolution: 64, stride: 16, grid: [4, 4], interpolation: null });
    expect(i.config).toMatchObject({ depth: 2, embedDim: 32, numClasses: 10, posRows: 17 });
    expect(i.adapter).not.toBeNull();
    expect(i.memoryBytes).toBeGreaterThan(180_000); // tiny.pth holds ~0.18 MB of float32 weights
    const c = cpu.info();
    expect(c).toMatchObject({ backend: 'cpu', adapter: null, resolution: 64 });
  });
});

describe('concurrency and life cycle', () => {
  test('100 overlapping classify calls each get their own image\'s answer', async () => {
    const inputs = [rawPixels('tiny'), rawPixels('coffee'), tensor('rocket', 64), blob('coffee')];
    const expected = await Promise.all(inputs.map((x) => gpu.classify(x, { topK: 10 })));
    expect(new Set(expected.map((r) => r[0].index)).size).toBeGreaterThan(1); // the check can tell images apart
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => gpu.classify(inputs[i % 4], { topK: 10 })));
    results.forEach((r, i) => expect(r).toEqual(expected[i % 4]));
  });

  test('dispose() during inference: calls in flight finish, later calls reject, memory is freed', async () => {
    const c = await createClassifier({ weights: tinyWeights() });
    const expected = await gpu.classify(rawPixels('coffee'));
    const running = Array.from({ length: 8 }, () => c.classify(rawPixels('coffee')));
    const disposed = c.dispose();
    await expect(c.classify(rawPixels('coffee'))).rejects.toBeInstanceOf(DisposedError);
    for (const r of await Promise.all(running)) expect(r).toEqual(expected);
    await disposed;
    expect(c.info().memoryBytes).toBe(0);
    await rejection(c.features(rawPixels('coffee')), DisposedError);
    await c.dispose(); // idempotent
  });
});

describe('the bundled default model', () => {
  test('no `weights`: the Vim-Ti trained on Imagenette (int8 file, 128 px, class names from its metadata); WebGPU = CPU', async () => {
    const c = await createClassifier();
    const cpuDefault = await createClassifier({ device: 'cpu' });
    try {
      expect(c.info()).toMatchObject({ backend: 'webgpu', resolution: 128, dtype: 'int8', grid: [8, 8], interpolation: null });
      expect(c.info().config).toMatchObject({ depth: 24, embedDim: 192, numClasses: 10 });
      const names = ['tench', 'English springer', 'cassette player', 'chain saw', 'church', 'French horn', 'garbage truck', 'gas pump', 'golf ball', 'parachute'];
      const g = await c.classify(rawPixels('coffee'), { topK: 10 });
      expect(g.map((p) => p.label).sort()).toEqual([...names].sort());
      g.forEach((p) => expect(p.label).toBe(names[p.index]));
      const r = await cpuDefault.classify(rawPixels('coffee'), { topK: 10 });
      expect(g.map((p) => p.index)).toEqual(r.map((p) => p.index));
      g.forEach((p, i) => expect(Math.abs(p.score - r[i].score)).toBeLessThan(1e-4));
    } finally {
      await c.dispose();
      await cpuDefault.dispose();
    }
  });
});
