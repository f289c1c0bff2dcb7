// Interim: any image the demo hands over → 8-bit RGB pixels for the official eval
// transform. PNG and JPEG files go through the engine's own decoders (the same
// pixels as Pillow, so the page agrees with the Node reference bit for bit);
// everything else (camera frames, canvases, WebP/GIF files) is drawn onto a canvas.
import { applyOrientation, decodeImage, type RgbImage } from '../../src/image/index.js';
import { InputError } from '../../src/index.js';
import type { ImageInput } from './engine.js';

function rgbaToRgb(data: Uint8ClampedArray, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
    out[j] = data[i]; out[j + 1] = data[i + 1]; out[j + 2] = data[i + 2];
  }
  return { width, height, data: out };
}

function sizeOf(src: Exclude<ImageInput, Blob | ImageData>): [number, number] {
  if (typeof VideoFrame !== 'undefined' && src instanceof VideoFrame) return [src.displayWidth, src.displayHeight];
  if (typeof HTMLImageElement !== 'undefined' && src instanceof HTMLImageElement) return [src.naturalWidth, src.naturalHeight];
  const s = src as { width: number; height: number };
  return [s.width, s.height];
}

function drawToRgb(src: Exclude<ImageInput, Blob | ImageData>, name: string): RgbImage {
  const [w, h] = sizeOf(src);
  if (!w || !h) throw new InputError(name, 'the image has no pixels (not loaded yet?)');
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new InputError(name, 'no 2D canvas available to read the pixels');
  ctx.drawImage(src as CanvasImageSource, 0, 0);
  return rgbaToRgb(ctx.getImageData(0, 0, w, h).data, w, h);
}

export async function toRgb(image: ImageInput): Promise<RgbImage> {
  if (image instanceof Blob) {
    const name = (image as File).name ?? 'image';
    const bytes = new Uint8Array(await image.arrayBuffer());
    const png = bytes[0] === 0x89 && bytes[1] === 0x50, jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
    if (png || jpeg) {
      const decoded = decodeImage(bytes, name);
      // Phone photos store "rotate me" in EXIF; show and classify them upright.
      return applyOrientation(decoded, decoded.orientation);
    }
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(image);
    } catch {
      throw new InputError(name, 'this file is not an image the browser can decode');
    }
    try { return drawToRgb(bitmap, name); } finally { bitmap.close(); }
  }
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) return rgbaToRgb(image.data, image.width, image.height);
  return drawToRgb(image as Exclude<ImageInput, Blob | ImageData>, 'image');
}
