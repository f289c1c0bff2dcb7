// One test per bug the fuzzer found, each on a hand-made minimal input, so the
// fix stays put even if the generators change.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { InputError, WeightFormatError } from '../src/errors.js';
import { decodeImage } from '../src/image/decode.js';
import { unpickle } from '../src/weights/pickle.js';
import { readStateDict } from '../src/weights/index.js';
import { bufferSource } from '../src/weights/source.js';
import { buildPng, parseChunks } from '../tools/fuzz/targets/png.js';
import { PickleWriter, buildPth, f32Bytes, rejection } from './weights-helpers.js';
import { PHOTOS, fixturePath } from './fixtures.js';

describe('pickle', () => {
  test('APPENDS with 300,000 items is read (it overflowed the call stack with a RangeError)', () => {
    const p = new PickleWriter().proto(2).op(0x5d).mark();
    for (let i = 0; i < 300_000; i++) p.op(0x4e);
    const list = unpickle(p.op(0x65).stop().bytes(), 'f.pth') as unknown[];
    expect(list.length).toBe(300_000);
  });

  test('a pickle building more containers than the limit is refused quickly', () => {
    const p = new PickleWriter().proto(2);
    for (let i = 0; i < 300_000; i++) p.op(0x7d, 0x30);   // EMPTY_DICT, POP
    const t0 = performance.now();
    expect(() => unpickle(p.op(0x4e).stop().bytes(), 'f.pth')).toThrow(/more than 262144 containers/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('.pth', () => {
  test('stride-0 views describing a billion elements over 8 stored floats are refused before decoding', async () => {
    const record = f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]);
    const bytes = buildPth([{ name: 'w', shape: [1 << 27, 8], stride: [0, 1], record }]);
    const e = await rejection(() => readStateDict(bufferSource('b.pth', bytes)));
    expect(e).toBeInstanceOf(WeightFormatError);
    expect(e.message).toMatch(/1073741824 elements but their storages only 8/);
  });

  test('a legitimate shared storage (views of one record) still loads', async () => {
    const record = f32Bytes([0, 1, 2, 3, 4, 5]);
    const sd = await readStateDict(bufferSource('s.pth', buildPth([
      { name: 'a', shape: [6], record, key: 's' }, { name: 'b', shape: [2, 3], record, key: 's' }, { name: 'c', shape: [3, 2], stride: [1, 3], record, key: 's' },
    ])));
    expect([...sd.get('c')!.data]).toEqual([0, 3, 1, 4, 2, 5]);
  });
});

describe('images', () => {
  test('a PNG split into one-byte IDAT chunks decodes in well under a second, to the same pixels', () => {
    const png = new Uint8Array(readFileSync(fixturePath('tiny_image.png')));
    const chunks = parseChunks(png);
    const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
    const first = chunks.findIndex((c) => c.type === 'IDAT');
    const split = [...chunks.slice(0, first), ...Array.from(idat, (b) => ({ type: 'IDAT', data: new Uint8Array([b]) })),
      ...chunks.filter((c, i) => i > first && c.type !== 'IDAT')];
    const bytes = buildPng(split);
    const t0 = performance.now();
    const img = decodeImage(bytes, 'split.png');
    expect(performance.now() - t0).toBeLessThan(1000);  // was 3.6 s (29 s for a 451x300 photo); ~50 ms now
    expect(Buffer.compare(Buffer.from(img.data), Buffer.from(decodeImage(png, 'tiny_image.png').data))).toBe(0);
  });

  test('a merged IDAT run still has its chunk CRCs checked', () => {
    const png = new Uint8Array(readFileSync(`${PHOTOS}/chelsea.png`));
    const chunks = parseChunks(png);
    const bytes = buildPng(chunks);
    // Corrupt one byte inside the second IDAT chunk (its CRC no longer matches).
    let at = 8, seen = 0;
    for (const c of chunks) { if (c.type === 'IDAT' && ++seen === 2) break; at += 12 + c.data.length; }
    bytes[at + 8 + 5] ^= 0x10;
    expect(() => decodeImage(bytes, 'crc.png')).toThrow(/CRC mismatch in the IDAT chunk/);
  });

  test('a 1 KB JPEG declaring 16384x6103 pixels is refused before decoding (jpeg-js hung on it)', () => {
    const small = new Uint8Array(jpeg.encode({ data: Buffer.alloc(16 * 16 * 4, 128), width: 16, height: 16 }, 50).data);
    // Rewrite the SOF0 frame size.
    const sof = small.findIndex((b, i) => b === 0xff && small[i + 1] === 0xc0);
    small[sof + 5] = 6103 >> 8; small[sof + 6] = 6103 & 0xff; small[sof + 7] = 16384 >> 8; small[sof + 8] = 0;
    const t0 = performance.now();
    expect(() => decodeImage(small, 'lie.jpg')).toThrow(/less than one bit per block/);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  test('a PNG whose IDAT cannot inflate to its declared size is refused before decoding', () => {
    const png = new Uint8Array(readFileSync(`${PHOTOS}/chelsea.png`));
    const chunks = parseChunks(png);
    const ihdr = chunks[0].data.slice();
    new DataView(ihdr.buffer).setUint32(0, 16384);
    new DataView(ihdr.buffer).setUint32(4, 6000);
    const e = (() => { try { decodeImage(buildPng([{ type: 'IHDR', data: ihdr }, ...chunks.slice(1)]), 'lie.png'); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/cannot inflate to that/);
  });
});
