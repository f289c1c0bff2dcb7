// GPU preprocessing (shaders/preprocess.wgsl) against the CPU eval transform,
// which is bit-exact with the official one. Tolerance: none — the shader uses
// Pillow's integer arithmetic and the CPU's float32 normalization table, so
// every float must be identical (compared as bits). Also: every EXIF
// orientation, gray / RGBA / padded-row layouts, batch slots, and the tiny
// model's logits through GPU preprocessing vs the stored official logits.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testGpu } from './gpu.js';
import { fixturePath, PHOTOS, readBin, compare } from './fixtures.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { readBuffer } from '../src/gpu/buffers.js';
import { decodeImage } from '../src/image/decode.js';
import { applyOrientation } from '../src/image/orientation.js';
import { evalTransform } from '../src/image/preprocess.js';
import type { RgbImage } from '../src/image/rgb-image.js';
import type { ExifOrientation } from '../src/image/exif.js';
import { createNormalizeLut, encodePreprocess, type PixelSource } from '../src/ops/preprocess.js';
import { outputPointToStored, preprocessGeometry } from '../src/ops/preprocess-geometry.js';
import { loadVimWeights, bufferSource } from '../src/weights/index.js';
import { VimGpu } from '../src/model/vim-gpu.js';

let ctx: GpuContext;
let lut: GPUBuffer;
beforeAll(async () => {
  ctx = await testGpu();
  lut = createNormalizeLut(ctx);
});
afterAll(() => releaseGpu(ctx));

function load(path: string): RgbImage {
  return decodeImage(new Uint8Array(readFileSync(path)), path);
}

/** Runs the GPU transform of each source into consecutive slots of one batch buffer. */
async function gpuTransform(sources: PixelSource[], size: number): Promise<Float32Array> {
  const floats = sources.length * 3 * size * size;
  const image = ctx.buffers.storage('test.image', floats * 4);
  const enc = ctx.device.createCommandEncoder();
  const frees = sources.map((src, slot) => encodePreprocess(ctx, enc, src, { image, slot, size, lut }));
  ctx.device.queue.submit([enc.finish()]);
  const out = await readBuffer(ctx.device, image, floats * 4);
  frees.forEach((f) => f());
  ctx.buffers.destroy(image);
  return out;
}

const rgb = (img: RgbImage, orientation: ExifOrientation = 1): PixelSource =>
  ({ kind: 'bytes', data: img.data, width: img.width, height: img.height, channels: 3, orientation });

/** Number of floats whose bits differ, and the largest difference. */
function bitDiff(a: Float32Array, b: Float32Array): { differing: number; maxAbs: number } {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let differing = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i]) differing++;
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
  }
  return { differing, maxAbs };
}

function expectIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  const d = bitDiff(actual, expected);
  expect(d, what).toEqual({ differing: 0, maxAbs: 0 });
}

describe('GPU eval transform = CPU eval transform, bit for bit', () => {
  const cases: Array<[string, string, number[]]> = [
    ['tiny_image.png (96x80)', fixturePath('tiny_image.png'), [64, 224]],
    ['vim_image.png (400x300)', fixturePath('vim_image.png'), [224, 320, 384]],
    ['astronaut.png (512x512)', join(PHOTOS, 'astronaut.png'), [224, 512]],
    ['chelsea.png (451x300)', join(PHOTOS, 'chelsea.png'), [224]],
    ['coffee.png (600x400)', join(PHOTOS, 'coffee.png'), [224]],
    ['rocket.jpg (640x427)', join(PHOTOS, 'rocket.jpg'), [224, 96]],
  ];
  for (const [name, path, sizes] of cases) {
    test(`${name} at ${sizes.join(', ')}`, async () => {
      const img = load(path);
      for (const s of sizes) expectIdentical(await gpuTransform([rgb(img)], s), evalTransform(img, s), `${name} @ ${s}`);
    });
  }

  test('matches the official input tensors of the fixtures', async () => {
    expectIdentical(await gpuTransform([rgb(load(fixturePath('tiny_image.png')))], 64), readBin('tiny_input.bin'), 'tiny_input.bin');
    expectIdentical(await gpuTransform([rgb(load(fixturePath('vim_image.png')))], 224), readBin('vim_input_224.bin'), 'vim_input_224.bin');
    expectIdentical(await gpuTransform([rgb(load(fixturePath('vim_image.png')))], 320), readBin('vim_input_320.bin'), 'vim_input_320.bin');
  });

  test('every EXIF orientation equals applyOrientation + evalTransform', async () => {
    const img = load(join(PHOTOS, 'chelsea.png'));
    for (const o of [1, 2, 3, 4, 5, 6, 7, 8] as ExifOrientation[]) {
      expectIdentical(await gpuTransform([rgb(img, o)], 96), evalTransform(applyOrientation(img, o), 96), `orientation ${o}`);
    }
  });

  test('RGBA (alpha ignored), gray, gray+alpha and padded rows', async () => {
    const img = load(fixturePath('tiny_image.png'));
    const n = img.width * img.height;
    const rgba = new Uint8Array(n * 4), gray = new Uint8Array(n), grayAlpha = new Uint8Array(n * 2);
    const grayRgb: RgbImage = { width: img.width, height: img.height, data: new Uint8Array(n * 3) };
    const pitch = img.width * 3 + 7, padded = new Uint8Array(pitch * img.height);
    for (let i = 0; i < n; i++) {
      rgba.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = (i * 37) & 255; // PIL's convert('RGB') drops alpha, it does not composite
      gray[i] = img.data[i * 3 + 1];
      grayAlpha[i * 2] = gray[i];
      grayAlpha[i * 2 + 1] = 9;
      grayRgb.data.fill(gray[i], i * 3, i * 3 + 3);
    }
    for (let y = 0; y < img.height; y++) padded.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), y * pitch);
    const expected = evalTransform(img, 64), expectedGray = evalTransform(grayRgb, 64);
    const { width, height } = img;
    expectIdentical(await gpuTransform([{ kind: 'bytes', data: rgba, width, height, channels: 4 }], 64), expected, 'rgba');
    expectIdentical(await gpuTransform([{ kind: 'bytes', data: padded, width, height, channels: 3, rowBytes: pitch }], 64), expected, 'padded');
    expectIdentical(await gpuTransform([{ kind: 'bytes', data: gray, width, height, channels: 1 }], 64), expectedGray, 'gray');
    expectIdentical(await gpuTransform([{ kind: 'bytes', data: grayAlpha, width, height, channels: 2 }], 64), expectedGray, 'gray+alpha');
  });

  test('images smaller than the crop are upscaled; a size already matching is not resized', async () => {
    const img = load(fixturePath('tiny_image.png'));
    expectIdentical(await gpuTransform([rgb(img)], 128), evalTransform(img, 128), 'upscale');
    // 73 = int(64 / 0.875): the shorter side already has the target size, Resize is a no-op.
    const exact: RgbImage = { width: 73, height: 90, data: img.data.slice(0, 73 * 90 * 3) };
    expectIdentical(await gpuTransform([rgb(exact)], 64), evalTransform(exact, 64), 'no resize');
  });

  test('batch slots are independent', async () => {
    const a = load(fixturePath('tiny_image.png')), b = load(join(PHOTOS, 'coffee.png'));
    const out = await gpuTransform([rgb(a), rgb(b, 6)], 64);
    const plane = 3 * 64 * 64;
    expectIdentical(out.subarray(0, plane), evalTransform(a, 64), 'slot 0');
    expectIdentical(out.subarray(plane), evalTransform(applyOrientation(b, 6), 64), 'slot 1');
  });
});

describe('geometry', () => {
  test('crop offsets round half to even; the output maps back into the stored image', () => {
    // 96x80 at 64: shorter side 80 → 73, longer int(73·96/80) = 87; left round(11.5) = 12, top round(4.5) = 4.
    const g = preprocessGeometry(96, 80, 1, 64);
    expect(g.resized).toEqual([87, 73]);
    expect(g.crop).toEqual([12, 4]);
    const [x0, y0] = outputPointToStored(g, 0, 0), [x1, y1] = outputPointToStored(g, 64, 64);
    expect(x0).toBeCloseTo(12 * 96 / 87, 4);
    expect(y0).toBeCloseTo(4 * 80 / 73, 4);
    expect(x1).toBeCloseTo(76 * 96 / 87, 4);
    expect(y1).toBeCloseTo(68 * 80 / 73, 4);
  });

  test('orientation 6 (rotated 90° cw for display): the upright top-left is the stored bottom-left', () => {
    const g = preprocessGeometry(100, 50, 6, 32);
    expect(g.oriented).toEqual([50, 100]);
    const [x, y] = outputPointToStored(g, 0, 0);
    // Upright (ox, oy) ↦ stored (oy, 50 − ox): the crop's left edge is near stored y = 50.
    expect(x).toBeGreaterThan(0);
    expect(y).toBeCloseTo(50 - (g.crop[0] * 50) / g.resized[0], 4);
  });
});

test('tiny model logits through GPU preprocessing equal the official logits (≤ 1e-4)', async () => {
  const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', new Uint8Array(readFileSync(fixturePath('tiny.pth')))));
  const vim = new VimGpu(ctx, config, tensors);
  const plan = vim.plan(1, 64, 64);
  const enc = ctx.device.createCommandEncoder();
  const free = encodePreprocess(ctx, enc, rgb(load(fixturePath('tiny_image.png'))), { image: plan.act.image, slot: 0, size: 64, lut });
  vim.encodeForward(enc, plan);  // the forward in the same encoder, after the preprocessing
  ctx.device.queue.submit([enc.finish()]);
  const logits = await readBuffer(ctx.device, plan.act.logits, plan.sizes.logits);
  free();
  const r = compare(logits, readBin('tiny_logits.bin'), 1e-4, 1e-4);
  console.log(`tiny logits via GPU preprocessing: max |Δ| = ${r.maxAbs}`);
  expect(r.ok).toBe(true);
  vim.dispose();
});
