// GPU time per inference (timestamp queries around the forward pass): a positive
// finite gpuMs where the device has 'timestamp-query', none where it lacks it or
// timing is off, and logits bit-identical either way; through VimGpu, the
// in-thread classifier (lastTiming) and the worker engine (over a MessageChannel).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { fixturePath, readBin } from './fixtures.js';
import { rawPixels, tinyWeights } from './api-support.js';
import { nodeGpu } from '../src/gpu/node.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { readPassMs } from '../src/gpu/pass-timer.js';
import { contextFromDevice } from '../src/engine/device.js';
import { VimGpu } from '../src/model/vim-gpu.js';
import { loadVimWeights, bufferSource } from '../src/weights/index.js';
import { createClassifier } from '../src/index.js';
import { channelWorker } from './worker-channel.js';

let gpu: GPU;
let timed: GpuContext;    // acquireGpu asks for timestamp-query where offered
let untimed: GpuContext;  // the same device without it (same kernels: same features otherwise, same limits)
beforeAll(async () => {
  gpu = await nodeGpu();
  timed = await acquireGpu({ gpu });
  const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' }))!;
  const requiredLimits: Record<string, number> = {};
  for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupsPerDimension'] as const) requiredLimits[k] = timed.device.limits[k];
  const requiredFeatures = [...timed.device.features].filter((f) => f !== 'timestamp-query') as GPUFeatureName[];
  untimed = contextFromDevice(await adapter.requestDevice({ requiredFeatures, requiredLimits }), gpu);
});
afterAll(() => {
  releaseGpu(timed);
  releaseGpu(untimed);
});

const expectTime = (ms: number | undefined) => {
  expect(ms).toBeGreaterThan(0);
  expect(Number.isFinite(ms)).toBe(true);
};
const input = readBin('tiny_input.bin');

test('this Dawn adapter offers timestamp-query (else the timed cases below prove nothing)', () => {
  expect(timed.features.timestampQuery).toBe(true);
  expect(untimed.features.timestampQuery).toBe(false);
});

test('readPassMs: ns → ms; zero or negative deltas (a reset counter) are dropped', async () => {
  const read = (begin: bigint, end: bigint) => {
    const b = timed.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    timed.device.queue.writeBuffer(b, 0, new BigUint64Array([begin, end]));
    return readPassMs(b);
  };
  expect(await read(1_000n, 2_501_000n)).toBe(2.5);
  expect(await read(5_000n, 5_000n)).toBeUndefined();
  expect(await read(9_000n, 1_000n)).toBeUndefined();
});

describe('VimGpu', () => {
  test('forwardTimed: gpuMs with the feature, none without it or with timing off; logits identical', async () => {
    const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', new Uint8Array(readFileSync(fixturePath('tiny.pth')))));
    const on = new VimGpu(timed, config, tensors);
    const off = new VimGpu(timed, config, tensors, { timing: false });
    const none = new VimGpu(untimed, config, tensors);
    const a = await on.forwardTimed(input, 1, 64, 64);
    const b = await off.forwardTimed(input, 1, 64, 64);
    const c = await none.forwardTimed(input, 1, 64, 64);
    expectTime(a.gpuMs);
    expect(b.gpuMs).toBeUndefined();
    expect(c.gpuMs).toBeUndefined();
    expect(a.logits).toEqual(b.logits);
    expect(a.logits).toEqual(c.logits);
    expectTime((await on.forwardWithFeatures(input, 1, 64, 64)).gpuMs);
    // Concurrent timed calls share the timer: each still gets its own positive time and the same logits.
    const many = await Promise.all(Array.from({ length: 4 }, () => on.forwardTimed(input, 1, 64, 64)));
    for (const r of many) { expectTime(r.gpuMs); expect(r.logits).toEqual(a.logits); }
    for (const v of [on, off, none]) v.dispose();
  });
});

describe('classifier.lastTiming', () => {
  test('in-thread WebGPU engine: wallMs and gpuMs after classify, classifyBatch (summed over chunks) and features', async () => {
    const c = await createClassifier({ weights: tinyWeights(), gpu, maxBatch: 2 });
    try {
      expect(c.lastTiming).toBeUndefined();
      await c.classify(rawPixels('tiny'));
      const one = c.lastTiming!;
      expect(one.wallMs).toBeGreaterThan(0);
      expectTime(one.gpuMs);
      await c.classifyBatch([input, input, input]);
      expectTime(c.lastTiming!.gpuMs);
      await c.features(input);
      expectTime(c.lastTiming!.gpuMs);
    } finally {
      await c.dispose();
    }
  });

  test('no gpuMs on a device without timestamp-query or on the CPU; the same predictions', async () => {
    const withT = await createClassifier({ weights: tinyWeights(), gpu });
    const without = await createClassifier({ weights: tinyWeights(), device: untimed.device, gpu });
    const cpu = await createClassifier({ weights: tinyWeights(), device: 'cpu' });
    try {
      const want = await withT.classify(input, { topK: 10 });
      expect(await without.classify(input, { topK: 10 })).toEqual(want);
      expect(without.lastTiming!.wallMs).toBeGreaterThan(0);
      expect(without.lastTiming).not.toHaveProperty('gpuMs');
      await cpu.classify(input);
      expect(cpu.lastTiming!.wallMs).toBeGreaterThan(0);
      expect(cpu.lastTiming).not.toHaveProperty('gpuMs');
    } finally {
      await Promise.all([withT.dispose(), without.dispose(), cpu.dispose()]);
    }
  });
});

test('worker engine: gpuMs for tensor batches, pixels and features', async () => {
  const w = await channelWorker(gpu);
  try {
    await w.engine.load({ weights: tinyWeights(), dtype: 'f32', interpolation: 'corrected', maxBatch: 8 });
    expectTime((await w.engine.infer([input, input], { timed: true })).gpuMs);
    expectTime((await w.engine.infer([rawPixels('tiny')], { timed: true })).gpuMs);
    expectTime((await w.engine.infer([input], { timed: true, features: true })).gpuMs);
    expect((await w.engine.infer([input])).gpuMs).toBeUndefined();
  } finally {
    await w.engine.dispose();
    w.close();
  }
});
