// JPEG → RGB through jpeg-js. Gray JPEGs come back replicated to RGB (as
// Pillow's "L" → "RGB"); CMYK/YCCK (Adobe) JPEGs are converted by jpeg-js.
//
// Not bit-exact with Pillow: Pillow decodes with libjpeg(-turbo) (integer
// islow IDCT, "fancy" triangular chroma upsampling), jpeg-js with its own
// IDCT and nearest-neighbour chroma upsampling, so pixels typically differ
// by a few levels. PNG input is exact; JPEG input is close.
import jpeg from 'jpeg-js';
import { InputError } from '../errors.js';
import type { RgbImage } from './rgb-image.js';
import type { JpegInfo } from './jpeg-info.js';

/** jpeg-js keeps its own allocation cap; ours (header check) is stricter, so this only backs it up. */
const JPEG_MEMORY_CAP_MB = 2048;

export function decodeJpeg(bytes: Uint8Array, info: JpegInfo, name: string): RgbImage {
  let decoded;
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // Missing data is an error (Pillow: "image file is truncated"), not gray blocks.
      tolerantDecoding: false,
      maxResolutionInMP: Math.ceil((info.width * info.height) / 1e6),
      maxMemoryUsageInMB: JPEG_MEMORY_CAP_MB,
    });
  } catch (err) {
    throw new InputError(name, `corrupt, truncated or unsupported JPEG: ${(err as Error).message}`);
  }
  const { width, height, data } = decoded;
  if (width !== info.width || height !== info.height || data.length !== width * height * 3) {
    throw new InputError(name, 'corrupt JPEG: decoded pixel data does not match the frame header');
  }
  return { width, height, data };
}
