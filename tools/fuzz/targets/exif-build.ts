// EXIF (TIFF) blocks for the image fuzzers: a well-formed one carrying an
// orientation, and hostile ones whose offsets, counts and types lie.
import type { Rng } from '../rng.js';
import { concat, lie32 } from '../mutate.js';

const PREFIX = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0]); // "Exif\0\0"

/** TIFF header + IFD0 with one Orientation entry (SHORT, count 1). */
export function exifBlock(orientation: number, withPrefix: boolean, little = true): Uint8Array {
  const t = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(t.buffer);
  t[0] = t[1] = little ? 0x49 : 0x4d;
  dv.setUint16(2, 42, little);
  dv.setUint32(4, 8, little);
  dv.setUint16(8, 1, little);
  dv.setUint16(10, 0x0112, little);
  dv.setUint16(12, 3, little);
  dv.setUint32(14, 1, little);
  dv.setUint16(18, orientation, little);
  return withPrefix ? concat(PREFIX, t) : t;
}

export function hostileExif(rng: Rng, withPrefix = rng.chance(0.5)): Uint8Array {
  const little = rng.chance(0.5);
  const t = exifBlock(rng.range(0, 10), false, little);
  const dv = new DataView(t.buffer);
  switch (rng.int(6)) {
    case 0: dv.setUint32(4, lie32(rng, t.length, 8), little); break;     // IFD offset
    case 1: dv.setUint16(8, rng.pick([0, 2, 0xffff]), little); break;    // entry count
    case 2: dv.setUint16(12, rng.pick([0, 1, 4, 9, 0xffff]), little); break; // type
    case 3: dv.setUint32(14, lie32(rng, t.length, 1), little); break;    // value count
    case 4: dv.setUint16(2, rng.pick([0, 43, 0x2a00]), little); break;   // magic
    default: return concat(withPrefix ? PREFIX : new Uint8Array(0), t.subarray(0, rng.int(t.length)));
  }
  return withPrefix ? concat(PREFIX, t) : t;
}
