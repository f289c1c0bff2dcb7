// Reads the one EXIF field the pipeline cares about: Orientation (tag 0x0112
// in IFD0). A damaged or absent EXIF block means "no rotation" rather than an
// error, because the pixels themselves are still fine and PIL's own decoder
// never looks at EXIF when producing them.

/** EXIF orientation 1..8 (1 = pixels are already upright). */
export type ExifOrientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const TYPE_SHORT = 3;
const EXIF_PREFIX = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"

/** True when `bytes` starts with the "Exif\0\0" identifier of a JPEG APP1 segment. */
export function hasExifPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= EXIF_PREFIX.length && EXIF_PREFIX.every((b, i) => bytes[i] === b);
}

/**
 * Orientation from an EXIF payload: a TIFF structure, optionally preceded by
 * "Exif\0\0" (JPEG APP1 has it; a PNG eXIf chunk normally does not).
 */
export function parseExifOrientation(payload: Uint8Array): ExifOrientation {
  const tiff = hasExifPrefix(payload) ? payload.subarray(EXIF_PREFIX.length) : payload;
  if (tiff.length < 8) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  let little: boolean;
  if (tiff[0] === 0x49 && tiff[1] === 0x49) little = true; // "II"
  else if (tiff[0] === 0x4d && tiff[1] === 0x4d) little = false; // "MM"
  else return 1;
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 12 > tiff.length) return 1;
    if (view.getUint16(at, little) !== ORIENTATION_TAG) continue;
    if (view.getUint16(at + 2, little) !== TYPE_SHORT || view.getUint32(at + 4, little) < 1) return 1;
    // A single SHORT sits left-aligned in the 4-byte value field.
    const value = view.getUint16(at + 8, little);
    return value >= 1 && value <= 8 ? (value as ExifOrientation) : 1;
  }
  return 1;
}
