// PNG → RGB the way `Image.open(f).convert('RGB')` does it in Pillow, so the
// bytes fed to the resampler are the ones the official transform sees:
//  * alpha (RGBA, gray+alpha, tRNS) is dropped, never composited;
//  * gray is replicated to R = G = B; 1/2/4-bit gray is scaled like Pillow's
//    unpackers (×255, ×85, ×17);
//  * 16-bit RGB(A) and gray+alpha keep the high byte (Pillow's "RGB;16B",
//    "RGBA;16B", "LA;16B" raw modes);
//  * 16-bit gray is opened by Pillow as mode "I;16" (older: "I") and its
//    conversion to RGB CLAMPS to 255 instead of scaling — values above 255
//    become white. Odd, but it is what the reference pipeline computes;
//  * palette indices beyond the PLTE entries map to Pillow's default palette,
//    a gray ramp (i, i, i).
import { decode as decodePngData } from 'fast-png';
import { InputError } from '../errors.js';
import { createRgbImage, type RgbImage } from './rgb-image.js';
import { PngColorType, type PngInfo } from './png-info.js';
import { mergeIdatChunks } from './png-chunks.js';

/** Pillow's scale factor for gray samples of each bit depth (8-bit: none). */
const GRAY_SCALE: Record<number, number> = { 1: 255, 2: 85, 4: 17, 8: 1 };

/** Samples of a single-channel image with bit depth < 8, unpacked, one row at a time. */
function unpackLowDepth(packed: ArrayLike<number>, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)];
      // Samples are packed most significant bits first.
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function paletteToRgb(indices: Uint8Array, palette: number[][] | undefined, out: Uint8Array): void {
  const entries = palette ?? [];
  for (let i = 0; i < indices.length; i++) {
    const idx = indices[i];
    const entry = entries[idx];
    out[i * 3] = entry ? entry[0] : idx;
    out[i * 3 + 1] = entry ? entry[1] : idx;
    out[i * 3 + 2] = entry ? entry[2] : idx;
  }
}

/** Interleaved samples (channels per pixel) → RGB, `toByte` mapping a sample to 0..255. */
function channelsToRgb(samples: ArrayLike<number>, channels: number, gray: boolean, toByte: (v: number) => number, out: Uint8Array): void {
  const pixels = out.length / 3;
  for (let i = 0, s = 0; i < pixels; i++, s += channels) {
    if (gray) {
      const v = toByte(samples[s]);
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    } else {
      out[i * 3] = toByte(samples[s]);
      out[i * 3 + 1] = toByte(samples[s + 1]);
      out[i * 3 + 2] = toByte(samples[s + 2]);
    }
  }
}

const highByte = (v: number) => v >> 8;
const identity = (v: number) => v;
const clampTo255 = (v: number) => (v > 255 ? 255 : v);

/** Decodes a PNG whose header has already been checked (`info`) into RGB. */
export function decodePng(bytes: Uint8Array, info: PngInfo, name: string): RgbImage {
  const merged = mergeIdatChunks(bytes, name);
  let png;
  try {
    // CRCs are checked, as Pillow does: a flipped bit is an error, not noise.
    png = decodePngData(merged, { checkCrc: true });
  } catch (err) {
    throw new InputError(name, `corrupt or truncated PNG: ${(err as Error).message}`);
  }
  const { width, height } = info;
  const depth = info.bitDepth;
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[info.colorType];
  const expected = depth < 8 ? height * Math.ceil((width * depth) / 8) : width * height * channels;
  if (png.width !== width || png.height !== height || png.data.length !== expected) {
    throw new InputError(name, 'corrupt PNG: decoded pixel data does not match the header');
  }
  const out = createRgbImage(width, height);
  switch (info.colorType) {
    case PngColorType.Palette: {
      const indices = depth < 8 ? unpackLowDepth(png.data, width, height, depth) : (png.data as Uint8Array);
      paletteToRgb(indices, png.palette, out.data);
      break;
    }
    case PngColorType.Gray:
      if (depth === 16) channelsToRgb(png.data, 1, true, clampTo255, out.data);
      else {
        const samples = depth < 8 ? unpackLowDepth(png.data, width, height, depth) : png.data;
        const scale = GRAY_SCALE[depth];
        channelsToRgb(samples, 1, true, (v) => v * scale, out.data);
      }
      break;
    case PngColorType.GrayAlpha:
      channelsToRgb(png.data, 2, true, depth === 16 ? highByte : identity, out.data);
      break;
    case PngColorType.Rgb:
    case PngColorType.Rgba:
      channelsToRgb(png.data, channels, false, depth === 16 ? highByte : identity, out.data);
      break;
  }
  return out;
}
