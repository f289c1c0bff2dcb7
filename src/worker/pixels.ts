// Images that reach the worker → 8-bit RGB, the input of the official eval
// transform. An ImageBitmap is drawn on an OffscreenCanvas (workers have no
// DOM); ImageData and raw pixels are repacked.
import { InputError } from '../errors.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { WorkerImage, WorkerPixels } from './protocol.js';

export function toRgb(image: WorkerImage): RgbImage {
  if (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) {
    const { width, height } = image;
    const canvas = new OffscreenCanvas(width, height);
    const g = canvas.getContext('2d');
    if (!g) throw new InputError('image', 'no 2D context on this OffscreenCanvas to read the ImageBitmap');
    g.drawImage(image, 0, 0);
    image.close();  // transferred to us: free it now
    return pack(g.getImageData(0, 0, width, height).data, width, height, 4);
  }
  const p = image as WorkerPixels;
  const channels = p.channels ?? (p.data.length === p.width * p.height * 3 ? 3 : 4);
  if (!(p.width > 0 && p.height > 0) || p.data.length !== p.width * p.height * channels) {
    throw new InputError('image', `${p.data.length} bytes are not a ${p.width}×${p.height} image of ${channels} channels`);
  }
  return pack(p.data, p.width, p.height, channels);
}

function pack(data: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (channels === 3) out.set(data);
  else for (let i = 0; i < n; i++) { out[3 * i] = data[4 * i]; out[3 * i + 1] = data[4 * i + 1]; out[3 * i + 2] = data[4 * i + 2]; }
  return { width, height, data: out };
}
