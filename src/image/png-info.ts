// Reads a PNG's IHDR (size, bit depth, colour type) and optional eXIf
// orientation by walking chunk headers only, so that absurd sizes are refused
// before the decoder inflates anything, and so that pixel conversion follows
// the colour type the file declares rather than guessing from decoder output.
import { InputError } from '../errors.js';
import { parseExifOrientation, type ExifOrientation } from './exif.js';

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG colour types (IHDR byte 9). */
export const PngColorType = { Gray: 0, Rgb: 2, Palette: 3, GrayAlpha: 4, Rgba: 6 } as const;
export type PngColorType = (typeof PngColorType)[keyof typeof PngColorType];

/** Bit depths each colour type allows (PNG spec table 11.1). */
const ALLOWED_DEPTHS: Record<PngColorType, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: PngColorType;
  orientation: ExifOrientation;
}

export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

export function readPngInfo(bytes: Uint8Array, name: string): PngInfo {
  if (!hasPngSignature(bytes)) throw new InputError(name, 'not a PNG file (bad signature)');
  if (bytes.length < 8 + 8 + 13) throw new InputError(name, 'PNG file is truncated (no complete IHDR chunk)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (chunkType(bytes, 12) !== 'IHDR' || view.getUint32(8) !== 13) {
    throw new InputError(name, 'corrupt PNG: the first chunk is not a 13-byte IHDR');
  }
  const width = view.getUint32(16), height = view.getUint32(20);
  const bitDepth = bytes[24], colorType = bytes[25] as PngColorType;
  if (width === 0 || height === 0) throw new InputError(name, `corrupt PNG: image size ${width}x${height}`);
  const depths = ALLOWED_DEPTHS[colorType];
  if (!depths) throw new InputError(name, `corrupt PNG: unknown colour type ${colorType}`);
  if (!depths.includes(bitDepth)) throw new InputError(name, `corrupt PNG: bit depth ${bitDepth} is invalid for colour type ${colorType}`);
  return { width, height, bitDepth, colorType, orientation: findExifOrientation(bytes, view) };
}

/**
 * Orientation from an eXIf chunk placed before the image data (where the
 * spec puts it and where PIL reads it on open). Walking stops at the first
 * IDAT or at anything malformed; the decoder reports real corruption.
 */
function findExifOrientation(bytes: Uint8Array, view: DataView): ExifOrientation {
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const type = chunkType(bytes, at + 4);
    const dataStart = at + 8, dataEnd = dataStart + length;
    if (type === 'IDAT' || type === 'IEND' || dataEnd + 4 > bytes.length) break;
    if (type === 'eXIf') return parseExifOrientation(bytes.subarray(dataStart, dataEnd));
    at = dataEnd + 4; // skip the CRC
  }
  return 1;
}
