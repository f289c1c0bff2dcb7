// Refuses a file that is too small to hold the pixels its header declares,
// before any decoder allocates for them. Decoders size their buffers from the
// header: a 1 KB JPEG declaring 16384x6103 made jpeg-js build 4.7 million block
// arrays (minutes, gigabytes); a PNG of a few hundred bytes made fast-png
// allocate 200+ MB. The bounds below hold for every valid file, so only damaged
// or hostile ones are refused.
import { InputError } from '../errors.js';
import type { JpegInfo } from './jpeg-info.js';
import { idatBytes } from './png-chunks.js';
import type { PngInfo } from './png-info.js';

/**
 * Deflate's best case is 258 bytes per match of 2 bits: 1032:1. The slack
 * covers zlib's header and the smallest images.
 */
const DEFLATE_MAX_RATIO = 1032;
const SLACK_BYTES = 4096;

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function checkPngPayload(bytes: Uint8Array, info: PngInfo, name: string): void {
  // Filtered scanlines: one filter byte per row plus the packed samples (interlacing only adds bytes).
  const raw = info.height * (1 + Math.ceil((info.width * PNG_CHANNELS[info.colorType] * info.bitDepth) / 8));
  const compressed = idatBytes(bytes);
  if (raw > DEFLATE_MAX_RATIO * compressed + SLACK_BYTES) {
    throw new InputError(name, `PNG declares ${info.width}x${info.height} pixels (${raw} bytes of image data) but holds ` +
      `only ${compressed} compressed bytes, which cannot inflate to that; the file is truncated or corrupt`);
  }
}

/**
 * Every 8x8 block of the full-resolution component carries at least one Huffman
 * code of at least one bit (its DC difference), so the file needs at least one
 * bit per block.
 */
export function checkJpegPayload(bytes: Uint8Array, info: JpegInfo, name: string): void {
  const blocks = Math.ceil(info.width / 8) * Math.ceil(info.height / 8);
  if (blocks > 8 * bytes.length) {
    throw new InputError(name, `JPEG declares ${info.width}x${info.height} pixels (${blocks} blocks) but the file has only ` +
      `${bytes.length} bytes, less than one bit per block; the file is truncated or corrupt`);
  }
}
