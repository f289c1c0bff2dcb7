// Walks a JPEG's marker segments up to the first scan to learn the frame
// size (SOFn) and the EXIF orientation (first APP1 "Exif" segment) without
// decoding any entropy-coded data, so absurd sizes are refused before the
// decoder allocates anything.
import { InputError } from '../errors.js';
import { hasExifPrefix, parseExifOrientation, type ExifOrientation } from './exif.js';

export interface JpegInfo {
  width: number;
  height: number;
  components: number;
  orientation: ExifOrientation;
}

const SOI = 0xd8, EOI = 0xd9, SOS = 0xda, APP1 = 0xe1, TEM = 0x01;

export function hasJpegSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === SOI && bytes[2] === 0xff;
}

/** SOF0..SOF15 carry the frame header; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Markers without a length field: TEM and the restart markers RST0..RST7. */
function isStandalone(marker: number): boolean {
  return marker === TEM || (marker >= 0xd0 && marker <= 0xd7);
}

export function readJpegInfo(bytes: Uint8Array, name: string): JpegInfo {
  if (!hasJpegSignature(bytes)) throw new InputError(name, 'not a JPEG file (no SOI marker)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let orientation: ExifOrientation = 1;
  let sawExif = false;
  let frame: Omit<JpegInfo, 'orientation'> | undefined;
  let at = 2;
  for (;;) {
    if (at >= bytes.length) throw new InputError(name, 'JPEG file is truncated (no image data)');
    if (bytes[at] !== 0xff) throw new InputError(name, `corrupt JPEG: expected a marker at byte ${at}`);
    while (at < bytes.length && bytes[at] === 0xff) at++; // fill bytes may precede a marker
    if (at >= bytes.length) throw new InputError(name, 'JPEG file is truncated (no image data)');
    const marker = bytes[at++];
    if (isStandalone(marker)) continue;
    if (marker === EOI) throw new InputError(name, 'corrupt JPEG: end of image before any scan');
    if (at + 2 > bytes.length) throw new InputError(name, 'JPEG file is truncated inside a segment header');
    const length = view.getUint16(at);
    if (length < 2 || at + length > bytes.length) throw new InputError(name, 'JPEG file is truncated inside a segment');
    const payload = bytes.subarray(at + 2, at + length);
    if (marker === SOS) break;
    if (isStartOfFrame(marker)) {
      if (payload.length < 6) throw new InputError(name, 'corrupt JPEG: short frame header');
      frame = { height: view.getUint16(at + 3), width: view.getUint16(at + 5), components: payload[5] };
    } else if (marker === APP1 && !sawExif && hasExifPrefix(payload)) {
      // Only the first Exif segment counts, as in PIL.
      sawExif = true;
      orientation = parseExifOrientation(payload);
    }
    at += length;
  }
  if (!frame) throw new InputError(name, 'corrupt JPEG: scan data before a frame header (SOF)');
  if (frame.width === 0 || frame.height === 0) {
    throw new InputError(name, `unsupported JPEG: frame size ${frame.width}x${frame.height} (height defined later by DNL)`);
  }
  return { ...frame, orientation };
}
