// The eval transform against the official reference tensors (bit for bit),
// plus decoding of the real photos and the transform's building blocks.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, fixturePath, PHOTOS, readBin } from './fixtures.js';
import { decodeImage } from '../src/image/decode.js';
import {
  centerCrop, evalTransform, IMAGENET_MEAN, IMAGENET_STD, normalize, resizeShorterSide, resizeTarget,
  roundHalfEven, shorterSideSize,
} from '../src/image/preprocess.js';
import type { RgbImage } from '../src/image/rgb-image.js';

const readImage = (path: string) => decodeImage(new Uint8Array(readFileSync(path)), path);

describe('eval transform reproduces the official input tensors exactly', () => {
  const cases = [
    { image: 'tiny_image.png', bin: 'tiny_input.bin', size: 64, resized: [87, 73] },
    { image: 'vim_image.png', bin: 'vim_input_224.bin', size: 224, resized: [341, 256] },
    { image: 'vim_image.png', bin: 'vim_input_320.bin', size: 320, resized: [486, 365] },
  ] as const;
  for (const c of cases) {
    test(`${c.image} at ${c.size} → ${c.bin}`, () => {
      const img = readImage(fixturePath(c.image));
      expect([img.width, img.height, img.format, img.orientation]).toEqual(c.image === 'tiny_image.png' ? [96, 80, 'png', 1] : [400, 300, 'png', 1]);
      expect(shorterSideSize(img.width, img.height, resizeTarget(c.size))).toEqual(c.resized);
      const actual = evalTransform(img, c.size);
      const expected = readBin(c.bin);
      expect(actual.length).toBe(3 * c.size * c.size);
      // Exact: every float32 identical, not merely close.
      let mismatches = 0;
      for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) mismatches++;
      expect(mismatches).toBe(0);
      expect(compare(actual, expected, 0, 0).maxAbs).toBe(0);
    });
  }
});

describe('real photos decode', () => {
  const photos = [
    ['chelsea.png', 451, 300, 'png'],
    ['astronaut.png', 512, 512, 'png'],
    ['coffee.png', 600, 400, 'png'],
    ['rocket.jpg', 640, 427, 'jpeg'],
  ] as const;
  for (const [file, w, h, format] of photos) {
    test(file, () => {
      const img = readImage(join(PHOTOS, file));
      expect([img.width, img.height, img.format, img.orientation]).toEqual([w, h, format, 1]);
      expect(img.data.length).toBe(w * h * 3);
      // Real content, not a blank buffer: many distinct byte values.
      expect(new Set(img.data).size).toBeGreaterThan(100);
      const x = evalTransform(img, 224);
      const lo = (0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0] - 1e-6;
      const hi = (1 - IMAGENET_MEAN[2]) / IMAGENET_STD[2] + 1e-6;
      let min = Infinity, max = -Infinity;
      for (const v of x) { min = Math.min(min, v); max = Math.max(max, v); }
      expect(min).toBeGreaterThanOrEqual(lo);
      expect(max).toBeLessThanOrEqual(hi);
    });
  }
});

describe('transform pieces', () => {
  test('Python round(): half to even', () => {
    expect([0.5, 1.5, 2.5, 58.5, 59.5, 16, 16.4, 16.6].map(roundHalfEven)).toEqual([0, 2, 2, 58, 60, 16, 16, 17]);
  });

  test('resize target and longer side truncate like Python int()', () => {
    expect(resizeTarget(224)).toBe(256);
    expect(resizeTarget(64)).toBe(73);
    expect(resizeTarget(320)).toBe(365);
    expect(shorterSideSize(300, 400, 256)).toEqual([256, 341]); // portrait
    expect(shorterSideSize(500, 500, 256)).toEqual([256, 256]);
  });

  test('resizeShorterSide leaves an image of the right size untouched', () => {
    const img: RgbImage = { width: 300, height: 256, data: new Uint8Array(300 * 256 * 3) };
    expect(resizeShorterSide(img, 256)).toBe(img);
  });

  const ramp = (w: number, h: number): RgbImage => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, 7], (y * w + x) * 3);
    return { width: w, height: h, data };
  };

  test('centerCrop offsets: 341 wide → left 58 (58.5 rounds to even)', () => {
    const out = centerCrop(ramp(341, 256), 224);
    expect([out.data[0], out.data[1]]).toEqual([58, 16]);
    const odd = centerCrop(ramp(227, 227), 224); // 1.5 → 2
    expect([odd.data[0], odd.data[1]]).toEqual([2, 2]);
  });

  test('centerCrop pads with zeros when the crop is larger (torchvision)', () => {
    // Padding puts (6−3)//2 = 1 column on the left and (6−5)//2 = 0 rows on top.
    const out = centerCrop(ramp(3, 5), 6);
    const px = (x: number, y: number) => Array.from(out.data.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([0, 0, 0]);
    expect(px(1, 0)).toEqual([0, 0, 7]);
    expect(px(3, 4)).toEqual([2, 4, 7]);
    expect(px(4, 0)).toEqual([0, 0, 0]);
    expect(px(1, 5)).toEqual([0, 0, 0]);
  });

  test('normalize is float32 (x/255 − mean)/std in CHW order', () => {
    const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([0, 128, 255, 10, 20, 30]) };
    const out = normalize(img);
    const f = Math.fround;
    const expectOne = (v: number, c: number) => f(f(f(v / 255) - f(IMAGENET_MEAN[c])) / f(IMAGENET_STD[c]));
    expect(Array.from(out)).toEqual([expectOne(0, 0), expectOne(10, 0), expectOne(128, 1), expectOne(20, 1), expectOne(255, 2), expectOne(30, 2)]);
  });
});
