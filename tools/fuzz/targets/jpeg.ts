// Fuzz target: JPEG files through decodeImage. Seeds: small baseline JPEGs made
// with jpeg-js (several sizes and qualities, one with an EXIF orientation) and
// the fixture photo. Mutations aim at marker segments: lying frame sizes,
// component counts and sampling factors, segment lengths, Huffman and
// quantisation tables, scan headers, restart intervals, EXIF directories,
// markers out of order, and the entropy-coded data.
import jpeg from 'jpeg-js';
import { decodeImage } from '../../../src/image/decode.js';
import { readJpegInfo } from '../../../src/image/jpeg-info.js';
import { FuzzBug, type FuzzCase, type Target } from '../harness.js';
import { boundaryCut, concat, concatAll, flipBits, lie32, randomFile, smashBytes, splice, truncate } from '../mutate.js';
import { readRepoFile } from '../paths.js';
import type { Rng } from '../rng.js';
import { exifBlock, hostileExif } from './exif-build.js';
import { declaredPixels } from './png.js';

/** A marker segment (payload excludes the 2-byte length), or the scan data after SOS. */
interface Segment { marker: number; payload: Uint8Array }
interface Seed { bytes: Uint8Array; segments: Segment[]; scan: Uint8Array; boundaries: number[] }

function parse(bytes: Uint8Array): Seed {
  const segments: Segment[] = [];
  const boundaries = [0, 2];
  let at = 2;
  for (;;) {
    const marker = bytes[at + 1];
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    segments.push({ marker, payload: bytes.slice(at + 4, at + 2 + length) });
    boundaries.push(at + 2, at + 4, at + 2 + length);
    at += 2 + length;
    if (marker === 0xda) break;
  }
  return { bytes, segments, scan: bytes.slice(at), boundaries: [...boundaries, bytes.length - 2] };
}

function build(segments: Segment[], scan: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0xff, 0xd8])];
  for (const s of segments) {
    const n = s.payload.length + 2;
    parts.push(new Uint8Array([0xff, s.marker, (n >> 8) & 0xff, n & 0xff]), s.payload);
  }
  parts.push(scan);
  return concatAll(parts);
}

let seeds: Seed[] = [];

function makeSeeds(rng: Rng): Uint8Array[] {
  const img = (width: number, height: number, quality: number) => {
    const data = Buffer.alloc(width * height * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + rng.int(40)) & 0xff;
    return new Uint8Array(jpeg.encode({ data, width, height }, quality).data);
  };
  const out: Uint8Array[] = [img(8, 8, 90), img(17, 9, 50), img(33, 20, 10), img(64, 48, 95), img(1, 1, 75)];
  // EXIF orientation 6 in an APP1 segment after the JFIF APP0.
  const withExif = parse(out[1]);
  withExif.segments.splice(1, 0, { marker: 0xe1, payload: exifBlock(6, true, false) });
  out.push(build(withExif.segments, withExif.scan));
  return out;
}

const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** One field of one header segment made to lie. */
function lieSegment(rng: Rng, s: Seed): Uint8Array {
  const segments: Segment[] = s.segments.map((g) => ({ ...g, payload: g.payload.slice() }));
  const pick = (pred: (m: number) => boolean) => segments.filter((g) => pred(g.marker));
  const choice = rng.int(7);
  const side = () => rng.pick([0, 1, 7, 8, 9, 4096, 16384, 16385, 6103, 65535, rng.int(65536)]);
  if (choice === 0) {
    // Frame: size, precision, component count, sampling factors, quant table ids; or another SOF type.
    for (const f of pick((m) => SOF.has(m))) {
      const p = f.payload, which = rng.int(7);
      if (which === 0) { const h = side(); p[1] = h >> 8; p[2] = h & 0xff; }
      if (which === 1) { const w = side(); p[3] = w >> 8; p[4] = w & 0xff; }
      if (which === 2) p[0] = rng.pick([0, 1, 12, 16, 255]);
      if (which === 3) p[5] = rng.pick([0, 1, 2, 4, 5, 255]);
      if (which === 4 && p.length > 7) p[7 + 3 * rng.int(Math.max(1, p[5]))] = rng.pick([0x00, 0x10, 0x01, 0x44, 0x55, 0xff, 0x4f]);
      if (which === 5) f.marker = rng.pick([...SOF]);
      if (which === 6) {
        // Both sides: a frame of up to the 100-megapixel limit behind a few hundred bytes.
        const [w, h] = rng.pick([[16384, 6103], [10000, 10000], [16384, 16384], [4096, 4096], [65535, 65535]]);
        p[1] = h >> 8; p[2] = h & 0xff; p[3] = w >> 8; p[4] = w & 0xff;
      }
    }
  } else if (choice === 1) {
    // Huffman table: counts that overflow the code space, more symbols than present, bad class/id.
    for (const h of pick((m) => m === 0xc4)) {
      const p = h.payload;
      if (rng.chance(0.5)) p[0] = rng.pick([0x02, 0x04, 0x20, 0xff, 0x13]);
      else p[1 + rng.int(16)] = rng.pick([0, 1, 2, 255]);
    }
  } else if (choice === 2) {
    for (const q of pick((m) => m === 0xdb)) q.payload[0] = rng.pick([0x10, 0x04, 0x1f, 0xff]);   // 16-bit precision, bad ids
  } else if (choice === 3) {
    // Scan header: component count, selectors, spectral selection, approximation.
    const sos = segments[segments.length - 1].payload;
    const at = rng.int(sos.length);
    sos[at] = rng.pick([0, 1, 3, 4, 63, 64, 0x11, 0xff, rng.int(256)]);
  } else if (choice === 4) {
    // A restart interval: 0, 1 or 65535 MCUs (the scan holds no RST markers).
    segments.splice(1, 0, { marker: 0xdd, payload: new Uint8Array([rng.pick([0, 255]), rng.pick([0, 1, 255])]) });
  } else if (choice === 5) {
    segments.splice(rng.int(segments.length), 0, { marker: 0xe1, payload: hostileExif(rng, true) });
  } else {
    // A segment whose length field lies (written raw, not through build()).
    const raw = build(segments, s.scan);
    const i = rng.int(segments.length);
    const pos = s.boundaries[1 + 3 * i] ?? 4;
    const v = lie32(rng, raw.length, 0) & 0xffff;
    raw[pos] = v >> 8; raw[pos + 1] = v & 0xff;
    return raw;
  }
  return build(segments, s.scan);
}

/** Markers out of order: a second SOI, an early EOI, SOF after SOS, RST in the headers, duplicates, drops. */
function markerSoup(rng: Rng, s: Seed): Uint8Array {
  const segments: Segment[] = s.segments.map((g) => ({ ...g }));
  const i = rng.int(segments.length);
  switch (rng.int(5)) {
    case 0: segments.splice(i, 1); break;
    case 1: segments.splice(rng.int(segments.length), 0, { ...segments[i] }); break;
    case 2: segments.splice(rng.int(segments.length), 0, { marker: rng.pick([0xd8, 0xd9, 0xd0, 0x01, 0xc8, 0xf0, 0xfe, 0xcc, 0xde]), payload: rng.bytes(rng.int(8)) }); break;
    case 3: { const j = rng.int(segments.length); [segments[i], segments[j]] = [segments[j], segments[i]]; break; }
    default: return concat(build(segments, s.scan.subarray(0, rng.int(s.scan.length))), new Uint8Array([0xff, rng.pick([0xd9, 0xc0, 0xda, 0xd8])]));
  }
  return build(segments, s.scan);
}

function generate(rng: Rng): FuzzCase {
  const s = rng.weighted(seeds.map((sd, i) => [i === seeds.length - 1 ? 0.3 : 1, sd] as const));
  const headerEnd = s.bytes.length - s.scan.length;
  const kind = rng.weighted<string>([[4, 'random'], [8, 'truncate'], [5, 'bitflip'], [8, 'bitflip-header'], [6, 'bitflip-scan'], [3, 'smash'],
    [3, 'splice'], [22, 'lie-segment'], [10, 'marker-soup'], [4, 'harmless']]);
  switch (kind) {
    case 'random': return { kind, bytes: randomFile(rng, new Uint8Array([0xff, 0xd8, 0xff])) };
    case 'truncate': return { kind, bytes: truncate(s.bytes, boundaryCut(rng, s.boundaries, s.bytes.length)) };
    case 'bitflip': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 8)) };
    case 'bitflip-header': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 3), 2, headerEnd) };
    case 'bitflip-scan': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 4), headerEnd, s.bytes.length - 2) };
    case 'smash': return { kind, bytes: smashBytes(rng, s.bytes, rng.range(1, 3)) };
    case 'splice': return { kind, bytes: splice(rng, s.bytes) };
    case 'lie-segment': return { kind, bytes: lieSegment(rng, s) };
    case 'marker-soup': return { kind, bytes: markerSoup(rng, s) };
    default: {
      // Harmless: a comment segment and fill bytes before a marker.
      const segments = [...s.segments];
      segments.splice(1, 0, { marker: 0xfe, payload: rng.bytes(rng.int(100)) });
      return { kind, bytes: build(segments, s.scan) };
    }
  }
}

export const jpegTarget: Target = {
  name: 'jpeg',
  bounds: 'largest allocation <= 12 x declared pixels (once the header passed its checks) + 8 x file size + 1 MiB',
  async prepare() {
    if (seeds.length) return;
    const { Rng } = await import('../rng.js');
    seeds = [...makeSeeds(new Rng('jpeg-seeds')), readRepoFile('test', 'photos', 'rocket.jpg')].map(parse);
  },
  generate,
  async run(bytes) {
    const img = decodeImage(bytes, 'fuzz.jpg');
    if (img.data.length !== img.width * img.height * 3) throw new FuzzBug('inconsistent', `decoded ${img.data.length} bytes for ${img.width}x${img.height}`);
  },
  allocBound: (bytes) => 12 * declaredPixels(() => readJpegInfo(bytes, 'x')) + 8 * bytes.length + (1 << 20),
};
