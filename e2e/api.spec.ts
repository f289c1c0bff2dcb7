// The public API in Chromium (WebGPU on SwiftShader): every browser input type
// gives the official top-1 of tiny.pth on the three engines — the Web Worker
// (the default in a page), WebGPU in the page (worker: false) and the CPU
// reference — with softmax scores within 1e-5 of the CPU path and of the
// official logits (preprocessing is bit-exact everywhere; the forward passes
// differ by float32 vs float64 rounding).
import { expect, test } from './harness-fixture.js';
import { softmax, topK } from '../src/model/top-k.js';
import { readBin } from '../test/fixtures.js';

const officialLogits = readBin('tiny_logits.bin');
const official = softmax(officialLogits);
const top1 = topK(officialLogits, 1)[0].index;

test('every input type: same top-1 and scores on WebGPU and CPU; features, info, a broken <img>', async ({ harness }, testInfo) => {
  const { results, features, info, broken } = await harness.run('apiInputs');
  await testInfo.attach('api-inputs.json', { body: JSON.stringify({ results, info }, null, 1), contentType: 'application/json' });
  expect(Object.keys(results).sort()).toEqual(['Blob', 'File', 'Float32Array', 'HTMLCanvasElement', 'HTMLImageElement',
    'ImageBitmap', 'ImageData', 'OffscreenCanvas', 'VideoFrame']);
  for (const [name, { worker, gpu, cpu }] of Object.entries(results)) {
    expect(cpu[0].index, `${name} (cpu)`).toBe(top1);
    for (const [engine, r] of [['worker', worker], ['webgpu', gpu]] as const) {
      expect(r[0].index, `${name} (${engine})`).toBe(top1);
      expect(r.map((p) => p.index), `${name} (${engine})`).toEqual(cpu.map((p) => p.index));
      for (const p of r) {
        expect(Math.abs(p.score - cpu.find((q) => q.index === p.index)!.score), `${name} (${engine}) class ${p.index}`).toBeLessThan(1e-5);
        expect(Math.abs(p.score - official[p.index]), `${name} (${engine}) class ${p.index} vs official`).toBeLessThan(1e-5);
      }
    }
  }
  expect(features).toMatchObject({ grid: [4, 4], dim: 32, patches: 16 * 32, workerGrid: [4, 4] });
  features.cls.forEach((v, i) => expect(Math.abs(v - features.workerCls[i])).toBeLessThan(1e-4));
  expect(info.gpu).toMatchObject({ backend: 'webgpu', resolution: 64, dtype: 'f32' });
  // A broken <img> is reported as broken, not as "not loaded yet", on both paths.
  for (const message of Object.values(broken)) expect(message).toMatch(/^InputError: .*no-such-image\.png.*failed to load/);
  expect(info.worker).toMatchObject({ backend: 'webgpu', resolution: 64, dtype: 'f32' });
  expect((info.worker as { memoryBytes: number }).memoryBytes).toBeGreaterThan(0);
});
