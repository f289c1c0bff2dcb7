// Entry point from file bytes to RGB pixels: recognises the format by its
// signature (never by the file name), checks the declared size against hard
// limits before any decoder allocates, then decodes to RGB the way PIL's
// `.convert('RGB')` would. Every failure is an InputError naming the file.
//
// EXIF orientation is reported, not applied: the official transform works on
// the stored pixels (PIL does not rotate on open), so applying it is the
// caller's choice (see applyOrientation).
import { InputError } from '../errors.js';
import type { ExifOrientation } from './exif.js';
import { decodeJpeg } from './jpeg.js';
import { hasJpegSignature, readJpegInfo } from './jpeg-info.js';
import { decodePng } from './png.js';
import { hasPngSignature, readPngInfo } from './png-info.js';
import { checkJpegPayload, checkPngPayload } from './plausible.js';
import type { RgbImage } from './rgb-image.js';

export type { RgbImage } from './rgb-image.js';
export type { ExifOrientation } from './exif.js';
export { applyOrientation } from './orientation.js';

/** Largest accepted width or height. */
export const MAX_IMAGE_SIDE = 16384;
/** Largest accepted pixel count (width · height). */
export const MAX_IMAGE_PIXELS = 100_000_000;

export type ImageFormat = 'png' | 'jpeg';

export interface DecodedImage extends RgbImage {
  format: ImageFormat;
  /** EXIF orientation found in the file (1 when absent); the pixels are NOT rotated. */
  orientation: ExifOrientation;
}

/** Throws unless a declared size is within MAX_IMAGE_SIDE and MAX_IMAGE_PIXELS. */
export function checkImageSize(width: number, height: number, name: string): void {
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new InputError(name, `image is ${width}x${height}; each side must be at most ${MAX_IMAGE_SIDE} pixels`);
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new InputError(name, `image is ${width}x${height} = ${width * height} pixels; the limit is ${MAX_IMAGE_PIXELS}`);
  }
}

export function decodeImage(bytes: Uint8Array, name: string): DecodedImage {
  if (bytes.length === 0) throw new InputError(name, 'file is empty');
  if (hasPngSignature(bytes)) {
    const info = readPngInfo(bytes, name);
    checkImageSize(info.width, info.height, name);
    checkPngPayload(bytes, info, name);
    return { ...decodePng(bytes, info, name), format: 'png', orientation: info.orientation };
  }
  if (hasJpegSignature(bytes)) {
    const info = readJpegInfo(bytes, name);
    checkImageSize(info.width, info.height, name);
    checkJpegPayload(bytes, info, name);
    return { ...decodeJpeg(bytes, info, name), format: 'jpeg', orientation: info.orientation };
  }
  throw new InputError(name, 'unrecognised image format (only PNG and JPEG are supported)');
}
