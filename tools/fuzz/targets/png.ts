// Fuzz target: PNG files through decodeImage. Seeds: small PNGs of every colour
// type and bit depth (made with fast-png), with eXIf / tEXt / tRNS chunks, and
// the fixture photo. Mutations keep chunk CRCs valid where that lets a lie reach
// the decoder: lying IHDR fields, chunk lengths, chunk order, palettes, zlib
// streams and EXIF directories.
import { encode } from 'fast-png';
import { decodeImage, MAX_IMAGE_PIXELS } from '../../../src/image/decode.js';
import { readPngInfo } from '../../../src/image/png-info.js';
import { crc32 } from '../../../src/weights/crc32.js';
import { FuzzBug, type FuzzCase, type Target } from '../harness.js';
import { boundaryCut, concat, concatAll, flipBits, lie32, randomFile, smashBytes, splice, truncate } from '../mutate.js';
import { readRepoFile } from '../paths.js';
import type { Rng } from '../rng.js';
import { exifBlock, hostileExif } from './exif-build.js';

const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface Chunk { type: string; data: Uint8Array }

export function parseChunks(png: Uint8Array): Chunk[] {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  for (let at = 8; at + 12 <= png.length;) {
    const length = dv.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    out.push({ type, data: png.slice(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

/** A chunk with its length and a correct CRC (unless `crc` is given). */
export function chunk(type: string, data: Uint8Array, opts: { length?: number; crc?: number } = {}): Uint8Array {
  const head = new Uint8Array(8);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, opts.length ?? data.length);
  for (let i = 0; i < 4; i++) head[4 + i] = type.charCodeAt(i) & 0xff;
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, opts.crc ?? crc32(concat(head.subarray(4), data)));
  return concat(head, data, tail);
}

export function buildPng(chunks: Chunk[]): Uint8Array {
  return concatAll([SIGNATURE, ...chunks.map((c) => chunk(c.type, c.data))]);
}

interface Seed { bytes: Uint8Array; chunks: Chunk[]; boundaries: number[] }
let seeds: Seed[] = [];

function seed(bytes: Uint8Array): Seed {
  const chunks = parseChunks(bytes);
  const boundaries = [0, 8];
  let at = 8;
  for (const c of chunks) { boundaries.push(at + 4, at + 8, at + 8 + c.data.length, at + 12 + c.data.length); at += 12 + c.data.length; }
  return { bytes, chunks, boundaries };
}

/** Small images of every colour type / depth the decoder handles. */
function makeSeeds(rng: Rng): Uint8Array[] {
  const img = (width: number, height: number, channels: number, depth: 1 | 2 | 4 | 8 | 16, extra: object = {}) => {
    const n = width * height * channels;
    const data = depth === 16 ? Uint16Array.from({ length: n }, () => rng.u32() & 0xffff)
      : depth === 8 ? Uint8Array.from({ length: n }, () => rng.u32() & 0xff)
        : (() => { const rowBytes = Math.ceil((width * depth) / 8); return Uint8Array.from({ length: rowBytes * height }, () => rng.u32() & 0xff); })();
    return encode({ width, height, data, channels, depth, ...extra });
  };
  const palette = Array.from({ length: 16 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
  const out = [
    img(7, 5, 3, 8), img(9, 4, 4, 8), img(6, 6, 1, 8), img(5, 3, 1, 16), img(4, 4, 2, 8), img(3, 5, 3, 16), img(4, 3, 4, 16),
    img(11, 3, 1, 1), img(6, 2, 1, 2), img(5, 5, 1, 4), img(8, 4, 1, 4, { palette }), img(6, 3, 1, 8, { palette }), img(9, 2, 1, 1, { palette: palette.slice(0, 2) }),
    img(32, 24, 3, 8),
  ];
  // An eXIf chunk (orientation 6) placed before IDAT, where PIL reads it.
  const withExif = parseChunks(out[0]);
  withExif.splice(1, 0, { type: 'eXIf', data: exifBlock(6, false) });
  out.push(buildPng(withExif));
  return out;
}

function fixCrcFlip(rng: Rng, s: Seed): Uint8Array {
  // Flip bits inside one chunk's data and recompute its CRC, so the change reaches the decoder.
  const chunks = s.chunks.map((c) => ({ ...c }));
  const i = rng.int(chunks.length);
  if (chunks[i].data.length) chunks[i].data = flipBits(rng, chunks[i].data, rng.range(1, 4));
  return buildPng(chunks);
}

function lieIhdr(rng: Rng, s: Seed): Uint8Array {
  const chunks = s.chunks.map((c) => ({ ...c }));
  const ihdr = chunks.find((c) => c.type === 'IHDR');
  if (!ihdr || ihdr.data.length < 13) return s.bytes;
  const d = ihdr.data.slice();
  const dv = new DataView(d.buffer);
  const field = rng.int(6);
  const side = () => rng.pick([0, 1, 2, 4096, 8192, 16384, 16385, 6103, 6104, 65535, 0x7fffffff, 0x80000000, 0xffffffff, lie32(rng, 0, dv.getUint32(0))]);
  if (field === 0) dv.setUint32(0, side());
  else if (field === 1) dv.setUint32(4, side());
  else if (field === 2) { dv.setUint32(0, side()); dv.setUint32(4, side()); }
  else if (field === 3) d[8] = rng.pick([0, 1, 2, 3, 4, 5, 8, 15, 16, 32, 255]);
  else if (field === 4) d[9] = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 255]);
  else d[10 + rng.int(3)] = rng.pick([1, 2, 255]);
  ihdr.data = d;
  return buildPng(chunks);
}

function lieLength(rng: Rng, s: Seed): Uint8Array {
  const parts = s.chunks.map((c) => chunk(c.type, c.data));
  const i = rng.int(parts.length);
  const c = s.chunks[i];
  parts[i] = chunk(c.type, c.data, { length: lie32(rng, s.bytes.length, c.data.length) });
  return concatAll([SIGNATURE, ...parts]);
}

function reorder(rng: Rng, s: Seed): Uint8Array {
  const chunks = s.chunks.map((c) => ({ ...c }));
  const i = rng.int(chunks.length), j = rng.int(chunks.length);
  switch (rng.int(6)) {
    case 0: [chunks[i], chunks[j]] = [chunks[j], chunks[i]]; break;
    case 1: chunks.splice(j, 0, { ...chunks[i] }); break;                       // duplicate (a second IHDR, PLTE, IEND...)
    case 2: chunks.splice(i, 1); break;                                          // drop (no IHDR / IDAT / IEND)
    case 3: chunks.splice(j, 0, { type: rng.pick(['ABCD', 'aBCD', 'IDAT', 'PLTE', 'tRNS', 'acTL', 'fcTL', 'fdAT', 'iCCP', 'zTXt', 'IHDR']), data: rng.bytes(rng.int(40)) }); break;
    case 4: {
      // Split IDAT into many one-byte chunks (valid) or give it an empty sibling.
      const k = chunks.findIndex((c) => c.type === 'IDAT');
      if (k >= 0) chunks.splice(k, 1, ...Array.from(chunks[k].data, (b) => ({ type: 'IDAT', data: new Uint8Array([b]) })));
      break;
    }
    default: chunks.splice(1, 0, { type: rng.pick(['tEXt', 'iTXt', 'pHYs', 'gAMA']), data: rng.bytes(rng.int(64)) });  // ancillary: harmless
  }
  return buildPng(chunks);
}

/** Zlib streams that lie: empty, truncated, wrong checksum, a stored block claiming more than it has, or a bomb. */
function lieZlib(rng: Rng, s: Seed): Uint8Array {
  const chunks = s.chunks.filter((c) => c.type !== 'IDAT');
  const k = s.chunks.findIndex((c) => c.type === 'IDAT');
  const idat = concat(...s.chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  const variants: Array<() => Uint8Array> = [
    () => new Uint8Array(0),
    () => idat.slice(0, rng.int(idat.length)),
    () => { const b = idat.slice(); b[b.length - 1 - rng.int(4)] ^= 0xff; return b; },        // adler-32
    () => new Uint8Array([0x78, 0x01, 0x01, 0xff, 0xff, 0x00, 0x00, ...rng.bytes(rng.int(64))]),   // stored block of 65535 claimed
    () => new Uint8Array([0x78, 0x9c, 0x03, 0x00]),                                              // empty fixed block
    () => bomb(rng),
  ];
  const data = rng.pick(variants)();
  chunks.splice(Math.max(1, k), 0, { type: 'IDAT', data });
  return buildPng(chunks);
}

/** A compressed run of zeros: many raw bytes from a few; with a lying IHDR it claims a huge image. */
function bomb(rng: Rng): Uint8Array {
  // Fixed-Huffman deflate: literal 0, then repeated 258-byte matches at distance 1.
  const repeats = rng.pick([10, 1000, 100_000]);
  const bits: number[] = [];
  const put = (v: number, n: number) => { for (let i = 0; i < n; i++) bits.push((v >> i) & 1); };
  const putRev = (v: number, n: number) => { for (let i = n - 1; i >= 0; i--) bits.push((v >> i) & 1); };
  put(1, 1); put(1, 2);                                   // final block, fixed Huffman
  putRev(0x30, 8);                                        // literal 0
  for (let i = 0; i < repeats; i++) { putRev(0b11000101, 8); putRev(0, 5); }  // length 258 (code 285), distance 1
  putRev(0, 7);                                           // end of block
  const body = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => { body[i >> 3] |= b << (i & 7); });
  return concat(new Uint8Array([0x78, 0x01]), body, new Uint8Array([0, 0, 0, 0]));
}

function hostileExifPng(rng: Rng, s: Seed): Uint8Array {
  const chunks = s.chunks.filter((c) => c.type !== 'eXIf');
  chunks.splice(1, 0, { type: 'eXIf', data: hostileExif(rng) });
  return buildPng(chunks);
}

function generate(rng: Rng): FuzzCase {
  const s = rng.weighted(seeds.map((sd, i) => [i === seeds.length - 1 ? 0.3 : 1, sd] as const));
  const kind = rng.weighted<string>([[4, 'random'], [8, 'truncate'], [5, 'bitflip'], [10, 'bitflip-fixcrc'], [3, 'smash'], [3, 'splice'],
    [14, 'lie-ihdr'], [6, 'lie-length'], [10, 'chunk-order'], [10, 'zlib'], [5, 'exif'], [4, 'harmless']]);
  switch (kind) {
    case 'random': return { kind, bytes: randomFile(rng, SIGNATURE) };
    case 'truncate': return { kind, bytes: truncate(s.bytes, boundaryCut(rng, s.boundaries, s.bytes.length)) };
    case 'bitflip': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 8)) };
    case 'bitflip-fixcrc': return { kind, bytes: fixCrcFlip(rng, s) };
    case 'smash': return { kind, bytes: smashBytes(rng, s.bytes, rng.range(1, 3)) };
    case 'splice': return { kind, bytes: splice(rng, s.bytes) };
    case 'lie-ihdr': return { kind, bytes: lieIhdr(rng, s) };
    case 'lie-length': return { kind, bytes: lieLength(rng, s) };
    case 'chunk-order': return { kind, bytes: reorder(rng, s) };
    case 'zlib': return { kind, bytes: lieZlib(rng, rng.chance(0.3) ? { ...s, chunks: parseChunks(lieIhdr(rng, s)) } : s) };
    case 'exif': return { kind, bytes: hostileExifPng(rng, s) };
    default: return { kind, bytes: s.bytes };
  }
}

/** Declared pixels if the header is readable and within limits, else 0. */
export function declaredPixels(read: () => { width: number; height: number }): number {
  try {
    const { width, height } = read();
    return width * height <= MAX_IMAGE_PIXELS ? width * height : 0;
  } catch {
    return 0;
  }
}

export const pngTarget: Target = {
  name: 'png',
  bounds: 'largest allocation <= 12 x declared pixels (once the header passed its checks) + 8 x file size + 1 MiB',
  async prepare() {
    if (seeds.length) return;
    const { Rng } = await import('../rng.js');
    seeds = [...makeSeeds(new Rng('png-seeds')), readRepoFile('test', 'fixtures', 'vim', 'tiny_image.png')].map(seed);
  },
  generate,
  async run(bytes) {
    const img = decodeImage(bytes, 'fuzz.png');
    if (img.data.length !== img.width * img.height * 3) throw new FuzzBug('inconsistent', `decoded ${img.data.length} bytes for ${img.width}x${img.height}`);
  },
  allocBound: (bytes) => 12 * declaredPixels(() => readPngInfo(bytes, 'x')) + 8 * bytes.length + (1 << 20),
};
