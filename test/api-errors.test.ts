// Every typed failure of the public API, in Node (Dawn): missing or bad weights,
// no WebGPU (with and without the CPU fallback), adapter limits, out of memory,
// aborts, bad inputs, and a forced device loss with transparent recovery.
import { afterAll, describe, expect, test } from 'vitest';
import { readBin } from './fixtures.js';
import {
  AbortError, createClassifier, DeviceLostError, GpuUnavailableError, InputError, LimitExceededError,
  ModelShapeError, OutOfMemoryError, WeightFetchError, WeightFormatError, type LoadProgress,
} from '../src/index.js';
import { allocating } from '../src/engine/device.js';
import { nodeWebGpu } from '../src/platform/node.js';
import { writeSafetensors, loadVimWeights, bufferSource } from '../src/weights/index.js';
import { topK } from '../src/model/top-k.js';
import { rawPixels, rejection, tensor, tinyWeights } from './api-support.js';

const officialTop1 = topK(readBin('tiny_logits.bin'), 1)[0].index;
const devices: GPUDevice[] = [];
afterAll(() => devices.forEach((d) => d.destroy()));

/** A GPU object with no adapter, like a blocklisted GPU. */
const noAdapter = { requestAdapter: async () => null } as unknown as GPU;

describe('weights', () => {
  test('not a weight file: WeightFormatError; a missing local file: WeightFetchError naming the path', async () => {
    await rejection(createClassifier({ weights: new TextEncoder().encode('<html>not found</html>') }), WeightFormatError);
    const e = await rejection(createClassifier({ weights: 'no/such/file.pth' }), WeightFetchError);
    expect(e.url).toBe('no/such/file.pth');
    expect(e.message).toMatch(/no\/such\/file\.pth.*ENOENT/);
  });

  test('a state dict missing a tensor: ModelShapeError naming it', async () => {
    const { tensors } = await loadVimWeights(bufferSource('tiny.pth', tinyWeights()));
    tensors.delete('layers.1.mixer.D_b');
    const e = await rejection(createClassifier({ weights: writeSafetensors(tensors) }), ModelShapeError);
    expect(e.message).toContain('layers.1.mixer.D_b');
  });

  test('labels of the wrong length, unknown options: InputError', async () => {
    await rejection(createClassifier({ weights: tinyWeights(), labels: ['a', 'b'] }), InputError);
    await rejection(createClassifier({ weights: tinyWeights(), interpolation: 'nearest' as never }), InputError);
    await rejection(createClassifier({ weights: tinyWeights(), dtype: 'i8' as never }), InputError);
    await rejection(createClassifier({ weights: tinyWeights(), device: 'gpu' as never }), InputError);
  });
});

describe('no WebGPU', () => {
  test('GpuUnavailableError by default, naming the fallback', async () => {
    const e = await rejection(createClassifier({ weights: tinyWeights(), gpu: noAdapter }), GpuUnavailableError);
    expect(e.message).toMatch(/no adapter/);
    expect(e.message).toMatch(/cpuFallback: true/);
  });

  test('cpuFallback: true runs the reference and gets the official top-1', async () => {
    const c = await createClassifier({ weights: tinyWeights(), gpu: noAdapter, cpuFallback: true });
    expect(c.info().backend).toBe('cpu');
    expect((await c.classify(rawPixels('tiny')))[0].index).toBe(officialTop1);
    await c.dispose();
  });
});

describe('device limits and memory', () => {
  test('a resolution whose input buffer exceeds the binding limit: LimitExceededError naming the limit', async () => {
    // A device with WebGPU's default limits (128 MiB bindings): a 4096² input needs 192 MiB.
    const gpu = await nodeWebGpu(); // kept referenced: Dawn aborts once its GPU object is collected
    const device = await (await gpu.requestAdapter())!.requestDevice();
    devices.push(device);
    const e = await rejection(createClassifier({ weights: tinyWeights(), device, gpu, resolution: 4096 }), LimitExceededError);
    expect(e.limit).toBe('maxStorageBufferBindingSize');
    expect(e.message).toMatch(/smaller batch or resolution/);
  });

  test('an allocation the device reports out of memory becomes OutOfMemoryError, and what was made is released', async () => {
    let released = false;
    const oomDevice = {
      pushErrorScope() {},
      popErrorScope: async () => ({ message: 'Not enough memory left.' }),
    } as unknown as GPUDevice;
    const e = await rejection(allocating(oomDevice, 'the model weights', () => 3 << 20, () => 'made', () => { released = true; }), OutOfMemoryError);
    expect(e.message).toMatch(/the model weights \(3\.0 MiB\): Not enough memory left/);
    expect(released).toBe(true);
    const ok = { pushErrorScope() {}, popErrorScope: async () => null } as unknown as GPUDevice;
    expect(await allocating(ok, 'x', () => 0, () => 42)).toBe(42);
  });
});

describe('abort', () => {
  test('an aborted signal stops loading with AbortError (name AbortError)', async () => {
    const ctl = new AbortController();
    ctl.abort();
    const e = await rejection(createClassifier({ weights: tinyWeights(), signal: ctl.signal }), AbortError);
    expect(e.name).toBe('AbortError');
    const mid = new AbortController();
    const seen: LoadProgress[] = [];
    await rejection(createClassifier({
      weights: tinyWeights(), signal: mid.signal,
      onProgress: (p) => { seen.push(p); if (p.phase === 'convert') mid.abort('user left'); },
    }), AbortError);
    expect(seen.length).toBeGreaterThan(0);
  });

  test('a call aborted in flight rejects; the classifier keeps working', async () => {
    const c = await createClassifier({ weights: tinyWeights() });
    const ctl = new AbortController();
    const call = c.classify(rawPixels('coffee'), { signal: ctl.signal });
    ctl.abort();
    await rejection(call, AbortError);
    expect((await c.classify(rawPixels('tiny')))[0].index).toBe(officialTop1);
    await c.dispose();
  });

  test('progress is monotonic and ends at 1', async () => {
    const seen: LoadProgress[] = [];
    const c = await createClassifier({ weights: tinyWeights(), onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toMatchObject({ phase: 'ready', progress: 1 });
    for (let i = 1; i < seen.length; i++) expect(seen[i].progress).toBeGreaterThanOrEqual(seen[i - 1].progress);
    await c.dispose();
  });
});

describe('inputs', () => {
  test('wrong tensor length, bad pixel buffers, unsupported objects, topK < 1: InputError', async () => {
    const c = await createClassifier({ weights: tinyWeights() });
    await rejection(c.classify(tensor('tiny', 96)), InputError);
    await rejection(c.classify({ data: new Uint8Array(10), width: 4, height: 4 }), InputError);
    await rejection(c.classify({ data: new Uint8Array(0), width: 0, height: 0 }), InputError);
    await rejection(c.classify({ width: 3 } as never), InputError);
    await rejection(c.classify(new Blob([new Uint8Array([1, 2, 3])])), InputError);
    await rejection(c.classify(rawPixels('tiny'), { topK: 0 }), InputError);
    // A failed input in a batch fails the batch, and the classifier stays usable.
    await rejection(c.classifyBatch([rawPixels('tiny'), tensor('tiny', 32)]), InputError);
    expect((await c.classify(rawPixels('tiny')))[0].index).toBe(officialTop1);
    await c.dispose();
  });
});

describe('device loss', () => {
  test('device.destroy() mid-run: that call rejects with DeviceLostError, the next call re-creates the device', async () => {
    const gpu = await nodeWebGpu();
    const device = await (await gpu.requestAdapter())!.requestDevice();
    devices.push(device);
    const c = await createClassifier({ weights: tinyWeights(), device, gpu });
    const expected = await c.classify(rawPixels('coffee'), { topK: 10 });
    // Destroy the device right after the call's forward pass is submitted, before its readback.
    const queue = device.queue, submit = queue.submit.bind(queue);
    queue.submit = (buffers) => {
      submit(buffers);
      queue.submit = submit;
      device.destroy();
    };
    await rejection(c.classify(rawPixels('coffee'), { topK: 10 }), DeviceLostError);
    const again = await c.classify(rawPixels('coffee'), { topK: 10 });
    expect(again.map((p) => p.index)).toEqual(expected.map((p) => p.index));
    again.forEach((p, i) => expect(Math.abs(p.score - expected[i].score)).toBeLessThan(1e-6));
    expect(c.info().memoryBytes).toBeGreaterThan(0);
    await c.dispose();
  });

  test('a device lost while idle is replaced by the next calls, which succeed', async () => {
    const gpu = await nodeWebGpu();
    const device = await (await gpu.requestAdapter())!.requestDevice();
    devices.push(device);
    const c = await createClassifier({ weights: tinyWeights(), device, gpu });
    const before = await c.classify(rawPixels('tiny'), { topK: 10 });
    device.destroy();
    await device.lost;
    // Concurrent calls share one re-creation. The new device is our own, with the adapter's
    // features (subgroups): kernels may differ in rounding.
    const memory = c.info().memoryBytes;
    const after = await Promise.all(Array.from({ length: 6 }, () => c.classify(rawPixels('tiny'), { topK: 10 })));
    for (const r of after) {
      expect(r.map((p) => p.index)).toEqual(before.map((p) => p.index));
      r.forEach((p, i) => expect(Math.abs(p.score - before[i].score)).toBeLessThan(1e-6));
    }
    // One model on the new device, not six (+16: the forward timer's buffer, where the new device has timestamp-query).
    expect([0, 16]).toContain(c.info().memoryBytes - memory);
    await c.dispose();
  });
});
