// Adapter limits: a batch or resolution whose activations exceed
// maxStorageBufferBindingSize fails up front with a LimitExceededError naming
// the limit (nothing allocated), one just under it runs and is correct, and
// weights too large to bind are refused instead of silently computing zeros.
// Images with absurd dimensions are refused before decoding, also through the API.
// On lavapipe (CI) the adapter's binding limit is 128 MiB; elsewhere the test
// asks for a device with WebGPU's default limits, which are the same.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InputError, LimitExceededError } from '../src/errors.js';
import type { GpuContext } from '../src/gpu/context.js';
import { contextFromDevice } from '../src/engine/device.js';
import { nodeWebGpu } from '../src/platform/node.js';
import { createClassifier } from '../src/index.js';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { VimGpu } from '../src/model/vim-gpu.js';
import { scanScratchBytes } from '../src/ops/scan.js';
import { bufferSource, loadVimWeights } from '../src/weights/index.js';
import { buildPng, parseChunks } from '../tools/fuzz/targets/png.js';
import { makeDispatch, packParams } from '../src/gpu/dispatch.js';
import smokeCode from '../shaders/smoke.wgsl?raw';
import { compare, readBin } from './fixtures.js';
import { fixtureBytes } from './weights-helpers.js';

const LIMIT = 128 * 2 ** 20;
let gpu: GPU;
let device: GPUDevice;
let ctx: GpuContext;
beforeAll(async () => {
  gpu = await nodeWebGpu();
  device = await (await gpu.requestAdapter())!.requestDevice();   // default limits: 128 MiB bindings
  ctx = contextFromDevice(device, gpu);
});
afterAll(() => device.destroy());

describe('activations', () => {
  test('the device under test has 128 MiB bindings', () => {
    expect(device.limits.maxStorageBufferBindingSize).toBe(LIMIT);
  });

  test('tiny: a batch whose input needs 128 MiB + 1 image fails up front naming the limit; nothing is allocated', async () => {
    const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', fixtureBytes('tiny.pth')));
    const vim = new VimGpu(ctx, config, tensors);
    const perImage = 3 * 64 * 64 * 4;
    const tooMany = Math.floor(LIMIT / perImage) + 1;
    const before = ctx.buffers.liveCount;
    const e = (() => { try { vim.plan(tooMany, 64, 64); } catch (x) { return x; } })() as LimitExceededError;
    expect(e).toBeInstanceOf(LimitExceededError);
    expect(e.limit).toBe('maxStorageBufferBindingSize');
    expect(e.requested).toBe(tooMany * perImage);
    expect(e.available).toBe(LIMIT);
    expect(e.message).toMatch(/'image' activation of batch \d+ at 64x64.*smaller batch or resolution/);
    expect(ctx.buffers.liveCount).toBe(before);
    await expect(vim.forward(new Float32Array(tooMany * 3 * 64 * 64), tooMany, 64, 64)).rejects.toBeInstanceOf(LimitExceededError);
    vim.dispose();
  });

  test('the largest batch that fits runs, every image as in batch 1 (1024x1024 inputs: 12 MiB each, 10 fit)', async () => {
    // A small procedural Vim taking 1024x1024 inputs in 32x32 patches, so the limit is reached in 10 images, not thousands.
    const cfg = { depth: 1, embedDim: 8, dInner: 16, dState: 4, dConv: 4, dtRank: 1, patchSize: 32, numClasses: 10, posRows: 32 * 32 + 1, normEps: 1e-5 };
    const vim = new VimGpu(ctx, cfg, proceduralWeights(cfg, 3));
    const perImage = 3 * 1024 * 1024;
    const batch = Math.floor(LIMIT / (4 * perImage));
    expect(batch).toBe(10);
    // One pattern, shifted per image, so every image differs and a mix-up between slots shows.
    const pattern = Float32Array.from({ length: perImage + batch * 4099 }, (_, i) => Math.sin(i * 0.01));
    const input = new Float32Array(batch * perImage);
    for (let b = 0; b < batch; b++) input.set(pattern.subarray(b * 4099, b * 4099 + perImage), b * perImage);
    const logits = await vim.forward(input, batch, 1024, 1024);
    await expect(vim.forward(new Float32Array((batch + 1) * perImage), batch + 1, 1024, 1024)).rejects.toThrow(/'image' activation of batch 11/);
    for (const b of [0, 4, batch - 1]) {
      const alone = await vim.forward(input.subarray(b * perImage, (b + 1) * perImage), 1, 1024, 1024);
      const r = compare(logits.subarray(b * 10, (b + 1) * 10), alone, 1e-4, 1e-4);
      expect(r.ok, `image ${b}: max |Δ| ${r.maxAbs}`).toBe(true);
    }
    vim.dispose();
  });

  test('Vim-Ti at 224: xz (which holds the input images) is the largest activation; one batch over it is refused before allocation', () => {
    const cfg = proceduralConfig(192, 197, 2);
    const vim = new VimGpu(ctx, cfg, proceduralWeights(cfg, 1));
    const perImage = 197 * 2 * 384 * 4;  // xz (B, L, 2E); y2 (2, B, L, E) is as large, the images a little smaller
    const fits = Math.floor(LIMIT / perImage);
    const before = ctx.buffers.liveCount;
    expect(() => vim.plan(fits, 224, 224)).not.toThrow();
    const e = (() => { try { vim.plan(fits + 1, 224, 224); } catch (x) { return x; } })() as LimitExceededError;
    expect(e).toBeInstanceOf(LimitExceededError);
    expect(e.requested).toBe((fits + 1) * perImage);
    expect(e.message).toMatch(/'xz' activation of batch \d+ at 224x224/);
    vim.releasePlans();
    expect(ctx.buffers.liveCount).toBe(before);
    vim.dispose();
  });

  test('Vim-Ti at 224 with the chunked scan: its scratch is the largest activation; one batch over it is refused before allocation', () => {
    const cfg = proceduralConfig(192, 197, 2);
    const vim = new VimGpu(ctx, cfg, proceduralWeights(cfg, 1), { scan: 'chunked' });
    // About 1.2 MiB of scan scratch per image (the chunk length depends on the batch, so search).
    let fits = 1;
    while (scanScratchBytes('chunked', fits + 1, 197, 384, 16) <= LIMIT) fits++;
    const before = ctx.buffers.liveCount;
    expect(() => vim.plan(fits, 224, 224)).not.toThrow();
    const e = (() => { try { vim.plan(fits + 1, 224, 224); } catch (x) { return x; } })() as LimitExceededError;
    expect(e).toBeInstanceOf(LimitExceededError);
    expect(e.limit).toBe('maxStorageBufferBindingSize');
    expect(e.message).toMatch(/'scanScratch' activation of batch \d+ at 224x224/);
    vim.releasePlans();
    expect(ctx.buffers.liveCount).toBe(before);
    vim.dispose();
  });
});

describe('weights', () => {
  test('a head too large to bind (1.1 M classes x 32 = 134 MiB): LimitExceededError, not zeros', async () => {
    const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', fixtureBytes('tiny.pth')));
    const classes = 1_100_000;
    const big = new Map(tensors);
    big.set('head.weight', { shape: [classes, 32], data: new Float32Array(classes * 32) });
    big.set('head.bias', { shape: [classes], data: new Float32Array(classes) });
    const before = ctx.buffers.liveCount;
    const e = (() => { try { return new VimGpu(ctx, { ...config, numClasses: classes }, big); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(LimitExceededError);
    expect((e as LimitExceededError).limit).toBe('maxStorageBufferBindingSize');
    expect((e as Error).message).toMatch(/weight buffer 'head(\.weight)?' is too large to bind/);
    expect(ctx.buffers.liveCount).toBe(before);
  });
});

describe('dispatch', () => {
  test('a grid over maxComputeWorkgroupsPerDimension: LimitExceededError naming limit, count and kernel; nothing created', () => {
    const max = device.limits.maxComputeWorkgroupsPerDimension;
    const data = ctx.buffers.upload('x', new Float32Array(4), GPUBufferUsage.STORAGE);
    const before = ctx.buffers.liveCount;
    for (const grid of [[max + 1], [1, max + 7]] as Array<[number, number?]>) {
      // With params: under the old order their uniform buffer was made before the check.
      const e = (() => { try { makeDispatch(ctx, { name: 'smoke', code: smokeCode, bindings: { data: 0 } }, packParams([1]), { data }, grid, 'big'); } catch (x) { return x; } })() as LimitExceededError;
      expect(e).toBeInstanceOf(LimitExceededError);
      expect(e.limit).toBe('maxComputeWorkgroupsPerDimension');
      expect(e.requested).toBe(grid.at(-1));
      expect(e.available).toBe(max);
      expect(e.message).toMatch(/^maxComputeWorkgroupsPerDimension: needs \d+, adapter allows \d+\. dispatch 'big' \(kernel smoke\)/);
      expect(ctx.buffers.liveCount).toBe(before);
    }
    ctx.buffers.destroy(data);
  });
});

describe('images with absurd dimensions (public API)', () => {
  let classify: (x: unknown) => Promise<unknown>;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    const c = await createClassifier({ weights: fixtureBytes('tiny.pth'), gpu });
    classify = (x) => c.classify(x as never);
    dispose = () => c.dispose();
  });
  afterAll(() => dispose());

  const png = (width: number, height: number) => {
    const chunks = parseChunks(fixtureBytes('tiny_image.png'));
    const ihdr = chunks[0].data.slice();
    new DataView(ihdr.buffer).setUint32(0, width);
    new DataView(ihdr.buffer).setUint32(4, height);
    return buildPng([{ type: 'IHDR', data: ihdr }, ...chunks.slice(1)]);
  };

  test.each([
    ['a PNG declaring 100000x100000', () => new Blob([png(100_000, 100_000) as Uint8Array<ArrayBuffer>]), /each side must be at most 16384/],
    ['a PNG declaring 16384x6000 (98 MP, within the limit) behind 18 KB of data', () => new Blob([png(16384, 6000) as Uint8Array<ArrayBuffer>]), /cannot inflate to that/],
    ['raw pixels claiming 1e6 x 1e6', () => ({ data: new Uint8Array(12), width: 1e6, height: 1e6, channels: 3 }), /./],
  ])('%s: InputError within 100 ms', async (_, make, message) => {
    const t0 = performance.now();
    const e = await classify(make()).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(message);
    expect(performance.now() - t0).toBeLessThan(100);
  });
});
