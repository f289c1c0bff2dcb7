// Host-side pixel handling for the CPU backend: stored pixel layouts to the
// RGB image the reference transform takes, and browser image sources to bytes.
import { InputError } from '../errors.js';
import { applyOrientation } from '../image/orientation.js';
import { createRgbImage, type RgbImage } from '../image/rgb-image.js';
import type { PixelSource } from '../ops/preprocess.js';

type BytesSource = Extract<PixelSource, { kind: 'bytes' }>;
type ExternalSource = Extract<PixelSource, { kind: 'external' }>;

/** RGB as PIL's convert('RGB') gives it (gray replicated, alpha dropped), upright. */
export function pixelsToRgb(src: BytesSource): RgbImage {
  const { width, height, channels } = src;
  const pitch = src.rowBytes ?? width * channels;
  const img = createRgbImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = y * pitch + x * channels, d = (y * width + x) * 3;
      if (channels < 3) {
        img.data.fill(src.data[s], d, d + 3);
      } else {
        img.data[d] = src.data[s];
        img.data[d + 1] = src.data[s + 1];
        img.data[d + 2] = src.data[s + 2];
      }
    }
  }
  return (src.orientation ?? 1) === 1 ? img : applyOrientation(img, src.orientation!);
}

/** Reads a browser image source back as RGBA bytes through a 2-D canvas. */
export function externalToPixels(src: ExternalSource): BytesSource {
  const { width, height } = src;
  if (typeof ImageData !== 'undefined' && src.source instanceof ImageData) return { kind: 'bytes', data: src.source.data, width, height, channels: 4 };
  let ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null = null;
  if (typeof OffscreenCanvas !== 'undefined') {
    ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  } else if (typeof document !== 'undefined') {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    ctx = canvas.getContext('2d', { willReadFrequently: true });
  }
  if (!ctx) throw new InputError('image', 'no 2-D canvas here to read the image pixels; pass raw pixels instead');
  ctx.drawImage(src.source as CanvasImageSource, 0, 0, width, height);
  return { kind: 'bytes', data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}
