// The short soak CI runs (the long one is `npm run soak`: 10,000 inferences per
// path): inferences in a loop with flat GPU buffers and heap, 100 concurrent
// calls all correct, dispose() during inference, and device loss mid-run.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadTiny, type Tiny } from '../tools/soak/fixtures.js';
import { soak } from '../tools/soak/soak.js';
import {
  concurrentClassify, concurrentForwards, deviceLossRecovery, deviceLossVimGpu, disposeClassifierDuringInference, disposeDuringInference,
} from '../tools/soak/checks.js';

let tiny: Tiny;
beforeAll(async () => { tiny = await loadTiny(); });

describe('soak (200 inferences)', () => {
  test('VimGpu: every result official, live GPU buffers and GPU bytes constant, all freed by dispose()', async () => {
    const r = await soak(tiny, { via: 'vimgpu', runs: 200, every: 50 });
    console.log('vimgpu', JSON.stringify({ buffers: r.stats.liveBuffers, heap: r.stats.heapUsed, seconds: r.seconds }));
    expect(r.wrong).toBe(0);
    expect(r.stats.liveBuffers.min).toBe(r.stats.liveBuffers.max);
    expect(r.stats.gpuBytes.min).toBe(r.stats.gpuBytes.max);
    expect(r.leftAfterDispose).toBe(0);
    // Too few runs for a heap slope to mean much: only a gross leak (> 1 MB per 100 runs) fails here.
    expect(r.stats.heapUsed.max - r.stats.heapUsed.min).toBeLessThan(2e6 + 0.1 * r.stats.heapUsed.min);
  });

  test('createClassifier: every ranking and score official, GPU memory constant', async () => {
    const r = await soak(tiny, { via: 'api', runs: 200, every: 50 });
    expect(r.wrong).toBe(0);
    expect(r.stats.gpuBytes.min).toBe(r.stats.gpuBytes.max);
  });
});

describe('concurrency', () => {
  test('100 concurrent VimGpu.forward calls (two plans sharing buffers per shape) are all correct', async () => {
    const r = await concurrentForwards(tiny, 100);
    expect(r.bugs).toEqual([]);
    expect(r.correct).toBe(100);
  });

  test('100 concurrent classify calls are all correct', async () => {
    const r = await concurrentClassify(tiny, 100);
    expect(r.bugs).toEqual([]);
    expect(r.correct).toBe(100);
  });
});

describe('dispose during inference', () => {
  test('VimGpu: calls in flight finish or fail typed, later calls get DisposedError, no buffer is left', async () => {
    const r = await disposeDuringInference(tiny);
    expect(r.bugs).toEqual([]);
    expect(r.calls).toBe(25);
    expect(r.typed.DisposedError).toBeGreaterThanOrEqual(5);
    expect(r.buffersLeft).toBe(0);
  });

  test('classifier.dispose() with calls in flight: each call resolves correctly or rejects with a typed error', async () => {
    const r = await disposeClassifierDuringInference(tiny);
    expect(r.bugs).toEqual([]);
    expect(r.calls).toBe(21);
  });
});

describe('device loss', () => {
  test('VimGpu: device.destroy() mid-run gives DeviceLostError (no hang), later calls fail fast', async () => {
    const r = await deviceLossVimGpu(tiny);
    expect(r.bugs).toEqual([]);
    expect(r.typed.DeviceLostError).toBeGreaterThanOrEqual(1);
    expect(r.afterLossMs).toBeLessThan(2000);
  });

  test('createClassifier: the device destroyed every 5th call, 3 times; each loss costs at most that call', async () => {
    const r = await deviceLossRecovery(tiny, 16, 5);
    expect(r.bugs).toEqual([]);
    expect(r.losses).toBe(3);
    expect(r.devices).toBe(4);                         // the first device and one per recovery
    expect(r.correct + (r.typed.DeviceLostError ?? 0)).toBe(16);
    expect(r.correct).toBeGreaterThanOrEqual(13);
  });
});
