// Decoding: PNG variants convert like PIL's .convert('RGB'), JPEG EXIF
// orientation is read (and applied only on request), and bad input of every
// kind ends in an InputError that names the file — before any big allocation.
import { describe, expect, test } from 'vitest';
import { encode as encodePng, type ImageData as PngImageData } from 'fast-png';
import jpeg from 'jpeg-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../src/errors.js';
import { applyOrientation, decodeImage, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from '../src/image/decode.js';
import { crc32 } from '../src/weights/crc32.js';
import { PHOTOS } from './fixtures.js';

const rgbOf = (png: PngImageData, name = 'test.png') => Array.from(decodeImage(encodePng(png), name).data);

describe('PNG colour types convert like PIL convert("RGB")', () => {
  test('8-bit RGB is copied', () => {
    expect(rgbOf({ width: 2, height: 1, channels: 3, data: new Uint8Array([1, 2, 3, 250, 251, 252]) })).toEqual([1, 2, 3, 250, 251, 252]);
  });

  test('8-bit gray is replicated', () => {
    expect(rgbOf({ width: 3, height: 1, channels: 1, data: new Uint8Array([0, 77, 255]) })).toEqual([0, 0, 0, 77, 77, 77, 255, 255, 255]);
  });

  test('low bit depth gray is scaled (×255, ×85, ×17)', () => {
    // 1-bit: 1 0 1 packed MSB first; 2-bit: 3 2 1 0; 4-bit: 15 1.
    expect(rgbOf({ width: 3, height: 1, channels: 1, depth: 1, data: new Uint8Array([0b10100000]) })).toEqual([255, 255, 255, 0, 0, 0, 255, 255, 255]);
    expect(rgbOf({ width: 4, height: 1, channels: 1, depth: 2, data: new Uint8Array([0b11100100]) }).filter((_, i) => i % 3 === 0)).toEqual([255, 170, 85, 0]);
    expect(rgbOf({ width: 2, height: 2, channels: 1, depth: 4, data: new Uint8Array([0xf1, 0x20]) }).filter((_, i) => i % 3 === 0)).toEqual([255, 17, 34, 0]);
  });

  test('RGBA drops alpha without compositing (transparent pixels keep their colour)', () => {
    const data = new Uint8Array([10, 20, 30, 0, 200, 100, 50, 128, 1, 2, 3, 255]);
    expect(rgbOf({ width: 3, height: 1, channels: 4, data })).toEqual([10, 20, 30, 200, 100, 50, 1, 2, 3]);
  });

  test('gray + alpha drops alpha and replicates gray', () => {
    expect(rgbOf({ width: 2, height: 1, channels: 2, data: new Uint8Array([40, 0, 90, 255]) })).toEqual([40, 40, 40, 90, 90, 90]);
  });

  test('16-bit RGB, RGBA and gray+alpha keep the high byte', () => {
    const rgb16 = new Uint16Array([0x1234, 0xffff, 0x00ff, 0x8000, 0x7fff, 0x0100]);
    expect(rgbOf({ width: 2, height: 1, channels: 3, depth: 16, data: rgb16 })).toEqual([0x12, 0xff, 0x00, 0x80, 0x7f, 0x01]);
    const rgba16 = new Uint16Array([0xabcd, 0x0102, 0xfe00, 0x0000]);
    expect(rgbOf({ width: 1, height: 1, channels: 4, depth: 16, data: rgba16 })).toEqual([0xab, 0x01, 0xfe]);
    const la16 = new Uint16Array([0xc0de, 0x0000]);
    expect(rgbOf({ width: 1, height: 1, channels: 2, depth: 16, data: la16 })).toEqual([0xc0, 0xc0, 0xc0]);
  });

  test('16-bit gray clamps to 255 (PIL "I;16" → "RGB"), it does not scale', () => {
    const gray16 = new Uint16Array([0, 200, 255, 256, 65535]);
    expect(rgbOf({ width: 5, height: 1, channels: 1, depth: 16, data: gray16 }).filter((_, i) => i % 3 === 0)).toEqual([0, 200, 255, 255, 255]);
  });

  test('palette (with tRNS alpha, which is dropped), 8-bit and 4-bit indices', () => {
    const palette = [[255, 0, 0, 0], [0, 255, 0, 128], [0, 0, 255, 255]];
    expect(rgbOf({ width: 3, height: 1, channels: 1, palette, data: new Uint8Array([2, 0, 1]) })).toEqual([0, 0, 255, 255, 0, 0, 0, 255, 0]);
    const opaque = [[9, 8, 7], [6, 5, 4]];
    expect(rgbOf({ width: 3, height: 1, channels: 1, depth: 4, palette: opaque, data: new Uint8Array([0x10, 0x10]) })).toEqual([6, 5, 4, 9, 8, 7, 6, 5, 4]);
  });

  test('Adam7-interlaced PNG decodes to the same pixels', () => {
    const w = 11, h = 9, data = new Uint8Array(w * h * 3).map((_, i) => (i * 37) & 255);
    const plain = decodeImage(encodePng({ width: w, height: h, channels: 3, data }), 'a.png');
    const interlaced = decodeImage(encodePng({ width: w, height: h, channels: 3, data }, { interlace: 'Adam7' }), 'b.png');
    expect(Array.from(interlaced.data)).toEqual(Array.from(plain.data));
    expect(Array.from(plain.data)).toEqual(Array.from(data));
  });
});

/** Big- or little-endian TIFF block with one IFD0 entry: Orientation = value. */
function exifApp1(orientation: number, little = false): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const v = new DataView(tiff.buffer);
  tiff.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
  v.setUint16(2, 42, little);
  v.setUint32(4, 8, little);
  v.setUint16(8, 1, little);
  v.setUint16(10, 0x0112, little);
  v.setUint16(12, 3, little); // SHORT
  v.setUint32(14, 1, little);
  v.setUint16(18, orientation, little);
  const payload = new Uint8Array([...new TextEncoder().encode('Exif'), 0, 0, ...tiff]);
  const segment = new Uint8Array(4 + payload.length);
  segment.set([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255]);
  segment.set(payload, 4);
  return segment;
}

/** A 16×8 JPEG, left half red, right half blue (8×8 blocks keep colours clean). */
function twoColourJpeg(): Uint8Array {
  const w = 16, h = 8, data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x < 8 ? [255, 0, 0, 255] : [0, 0, 255, 255], (y * w + x) * 4);
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 95).data);
}

/** A PNG with an eXIf chunk (payload = the APP1 segment's TIFF part) right after IHDR. */
function pngWithExif(png: Uint8Array, orientation: number, withPrefix: boolean): Uint8Array {
  const app1 = exifApp1(orientation);
  const payload = app1.subarray(withPrefix ? 4 : 10); // skip marker+length (and "Exif\0\0")
  const chunk = new Uint8Array(12 + payload.length);
  const v = new DataView(chunk.buffer);
  v.setUint32(0, payload.length);
  chunk.set(new TextEncoder().encode('eXIf'), 4);
  chunk.set(payload, 8);
  v.setUint32(8 + payload.length, crc32(chunk.subarray(4, 8 + payload.length)));
  const ihdrEnd = 8 + 25;
  return new Uint8Array([...png.subarray(0, ihdrEnd), ...chunk, ...png.subarray(ihdrEnd)]);
}

const withSegment = (jpg: Uint8Array, segment: Uint8Array) => new Uint8Array([...jpg.subarray(0, 2), ...segment, ...jpg.subarray(2)]);

describe('JPEG and EXIF orientation', () => {
  test('orientation 6 is reported, not applied; applyOrientation rotates 90° clockwise', () => {
    for (const little of [false, true]) {
      const img = decodeImage(withSegment(twoColourJpeg(), exifApp1(6, little)), 'rot.jpg');
      expect([img.width, img.height, img.format, img.orientation]).toEqual([16, 8, 'jpeg', 6]);
      const upright = applyOrientation(img, img.orientation);
      expect([upright.width, upright.height]).toEqual([8, 16]);
      // Left (red) half of the stored image becomes the top half.
      const at = (x: number, y: number) => Array.from(upright.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
      for (const [r, g, b] of [at(2, 2), at(5, 6)]) expect(r > 230 && g < 30 && b < 30).toBe(true);
      for (const [r, g, b] of [at(2, 10), at(5, 14)]) expect(r < 30 && g < 30 && b > 230).toBe(true);
    }
  });

  test('PNG eXIf chunk orientation is reported too (with or without the Exif prefix)', () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const png = encodePng({ width: 2, height: 1, channels: 3, data });
    for (const withPrefix of [false, true]) {
      const img = decodeImage(pngWithExif(png, 8, withPrefix), 'exif.png');
      expect([img.orientation, img.width, img.height, ...img.data]).toEqual([8, 2, 1, ...data]);
    }
  });

  test('no EXIF → orientation 1; an out-of-range value is ignored', () => {
    expect(decodeImage(twoColourJpeg(), 'plain.jpg').orientation).toBe(1);
    expect(decodeImage(withSegment(twoColourJpeg(), exifApp1(9)), 'bad.jpg').orientation).toBe(1);
  });

  test('applyOrientation matches PIL exif_transpose for all 8 values', () => {
    // Stored 3×2 image "a b c / d e f" (R channel holds the letter).
    const img = { width: 3, height: 2, data: new Uint8Array([..."abcdef"].flatMap((ch) => [ch.charCodeAt(0), 0, 0])) };
    const expected: Record<number, [number, string]> = {
      1: [3, 'abcdef'], 2: [3, 'cbafed'], 3: [3, 'fedcba'], 4: [3, 'defabc'],
      5: [2, 'adbecf'], 6: [2, 'daebfc'], 7: [2, 'fcebda'], 8: [2, 'cfbead'],
    };
    for (let o = 1; o <= 8; o++) {
      const out = applyOrientation(img, o as 1);
      const letters = String.fromCharCode(...out.data.filter((_, i) => i % 3 === 0));
      expect([out.width, letters]).toEqual(expected[o]);
    }
  });

  test('a baseline JPEG decodes close to what was encoded (jpeg-js, not libjpeg: not exact)', () => {
    const w = 32, h = 24, rgba = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set([x * 8, y * 10, 128, 255], (y * w + x) * 4);
    const img = decodeImage(new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 100).data), 'smooth.jpg');
    let maxDiff = 0;
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(img.data[i * 3 + c] - rgba[i * 4 + c]));
    expect(maxDiff).toBeLessThanOrEqual(8);
  });
});

test('a view into a larger buffer (e.g. a pooled Node Buffer) decodes the same', () => {
  for (const path of [join(PHOTOS, 'chelsea.png'), join(PHOTOS, 'rocket.jpg')]) {
    const bytes = new Uint8Array(readFileSync(path));
    const padded = new Uint8Array(bytes.length + 13);
    padded.set(bytes, 7);
    const view = padded.subarray(7, 7 + bytes.length);
    expect(decodeImage(view, path).data).toEqual(decodeImage(bytes, path).data);
  }
});

describe('bad input → InputError naming the file', () => {
  const expectInputError = (bytes: Uint8Array, name: string, pattern: RegExp) => {
    let caught: unknown;
    try { decodeImage(bytes, name); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).file).toBe(name);
    expect((caught as Error).message).toMatch(pattern);
  };
  const goodPng = encodePng({ width: 20, height: 20, channels: 3, data: new Uint8Array(1200).map((_, i) => i * 7) });
  const goodJpeg = new Uint8Array(readFileSync(join(PHOTOS, 'rocket.jpg')));

  test('empty, garbage, unknown formats', () => {
    expectInputError(new Uint8Array(0), 'empty.png', /empty/);
    expectInputError(new Uint8Array(1000).map((_, i) => (i * 131) & 255), 'noise.png', /unrecognised/);
    expectInputError(new TextEncoder().encode('GIF89a....'), 'x.gif', /unrecognised/);
  });

  test('truncated PNG at many lengths', () => {
    for (const n of [8, 20, 33, 40, goodPng.length - 30, goodPng.length - 12, goodPng.length - 1]) {
      expectInputError(goodPng.subarray(0, n), 'cut.png', /PNG/);
    }
  });

  test('PNG with a flipped bit in the image data (CRC mismatch)', () => {
    const bad = goodPng.slice();
    bad[bad.length - 20] ^= 0x10;
    expectInputError(bad, 'flip.png', /corrupt/);
  });

  test('truncated and mangled JPEG', () => {
    for (const frac of [0.01, 0.1, 0.5, 0.99]) expectInputError(goodJpeg.subarray(0, Math.floor(goodJpeg.length * frac)), 'cut.jpg', /JPEG/);
    expectInputError(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), 'eoi.jpg', /JPEG/);
    expectInputError(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 1, 2]), 'seg.jpg', /truncated/);
  });

  test('absurd PNG dimensions are refused from the header, before decoding', () => {
    // Header says 100000×100000; CRC and data are now wrong, so only a header
    // check can produce the size message — the decoder would report corruption.
    const huge = goodPng.slice();
    new DataView(huge.buffer).setUint32(16, 100000);
    new DataView(huge.buffer).setUint32(20, 100000);
    expectInputError(huge, 'huge.png', new RegExp(`at most ${MAX_IMAGE_SIDE}`));
    const tooMany = goodPng.slice(); // each side within the limit, the product is not
    new DataView(tooMany.buffer).setUint32(16, 16000);
    new DataView(tooMany.buffer).setUint32(20, 16000);
    expectInputError(tooMany, 'many.png', new RegExp(`limit is ${MAX_IMAGE_PIXELS}`));
  });

  test('absurd JPEG dimensions are refused from the frame header', () => {
    const huge = goodJpeg.slice();
    // Find SOF0/SOF2 and overwrite its height/width with 60000×60000.
    let at = 2;
    while (!(huge[at + 1] === 0xc0 || huge[at + 1] === 0xc2)) at += 2 + ((huge[at + 2] << 8) | huge[at + 3]);
    huge.set([0xea, 0x60, 0xea, 0x60], at + 5);
    expectInputError(huge, 'huge.jpg', new RegExp(`at most ${MAX_IMAGE_SIDE}`));
  });
});
