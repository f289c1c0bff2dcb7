// The public API in Chromium (WebGPU on SwiftShader): every browser input type
// gives the official top-1 of tiny.pth on both backends, with softmax scores
// within 1e-5 of the CPU path (GPU preprocessing is bit-exact; the forward
// passes differ by float32 vs float64 rounding).
import { expect, test } from './harness-fixture.js';
import { softmax, topK } from '../src/model/top-k.js';
import { readBin } from '../test/fixtures.js';

const officialLogits = readBin('tiny_logits.bin');
const official = softmax(officialLogits);
const top1 = topK(officialLogits, 1)[0].index;

test('every input type: same top-1 and scores on WebGPU and CPU; features and info', async ({ harness }, testInfo) => {
  const { results, features, info } = await harness.run('apiInputs');
  await testInfo.attach('api-inputs.json', { body: JSON.stringify({ results, info }, null, 1), contentType: 'application/json' });
  expect(Object.keys(results).sort()).toEqual(['Blob', 'File', 'Float32Array', 'HTMLCanvasElement', 'HTMLImageElement',
    'ImageBitmap', 'ImageData', 'OffscreenCanvas', 'VideoFrame']);
  for (const [name, { gpu, cpu }] of Object.entries(results)) {
    expect(gpu[0].index, `${name} (webgpu)`).toBe(top1);
    expect(cpu[0].index, `${name} (cpu)`).toBe(top1);
    expect(gpu.map((p) => p.index), name).toEqual(cpu.map((p) => p.index));
    for (const p of gpu) {
      expect(Math.abs(p.score - cpu.find((q) => q.index === p.index)!.score), `${name} class ${p.index}`).toBeLessThan(1e-5);
      expect(Math.abs(p.score - official[p.index]), `${name} class ${p.index} vs official`).toBeLessThan(1e-5);
    }
  }
  expect(features).toMatchObject({ grid: [4, 4], dim: 32, patches: 16 * 32 });
  expect(info).toMatchObject({ backend: 'webgpu', resolution: 64, dtype: 'f32' });
});
