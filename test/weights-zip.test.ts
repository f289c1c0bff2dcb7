// The zip layer: end records (classic and zip64), central directory validation,
// CRC-32, and every way a truncated or lying archive must fail.
import { describe, expect, test } from 'vitest';
import { WeightFormatError } from '../src/errors.js';
import { crc32 } from '../src/weights/crc32.js';
import { bufferSource } from '../src/weights/source.js';
import { ZipArchive, ZipChecksumError } from '../src/weights/zip.js';
import { fixtureBytes, rejection } from './weights-helpers.js';
import { writeZip, type ZipInput } from './zip-writer.js';

const text = (s: string) => new TextEncoder().encode(s);
const open = (bytes: Uint8Array, name = 't.zip') => ZipArchive.open(bufferSource(name, bytes));
const entries: ZipInput[] = [
  { name: 'a/data.pkl', data: text('hello') },
  { name: 'a/data/0', data: new Uint8Array(300).map((_, i) => i * 7) },
  { name: 'a/version', data: text('3\n') },
];
const patch32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
const patch16 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);

async function formatError(bytes: Uint8Array, read?: string): Promise<WeightFormatError> {
  const err = await rejection(async () => { const z = await open(bytes); if (read) await z.read(read); });
  expect(err).toBeInstanceOf(WeightFormatError);
  expect(err.message).toContain('t.zip');
  return err as WeightFormatError;
}

test('crc32 matches the standard check value', () => {
  expect(crc32(text('123456789'))).toBe(0xcbf43926);
  expect(crc32(new Uint8Array(0))).toBe(0);
  expect(crc32(text('56789'), crc32(text('1234')))).toBe(0xcbf43926);
});

describe('reading', () => {
  test.each([false, true])('entries and data round-trip (zip64 end records: %s)', async (zip64) => {
    const z = await open(writeZip(entries, { zip64 }).bytes);
    expect([...z.entries.keys()]).toEqual(entries.map((e) => e.name));
    for (const e of entries) expect(await z.read(e.name)).toEqual(e.data);
  });

  test('the torch.save fixture: 43 stored entries behind zip64 end records', async () => {
    const z = await open(fixtureBytes('tiny.pth'));
    expect(z.entries.size).toBe(43);
    expect([...z.entries.values()].every((e) => e.method === 0)).toBe(true);
    expect(new TextDecoder().decode(await z.read('tiny/version'))).toBe('3\n');
  });

  test('a bad CRC is a ZipChecksumError', async () => {
    const { bytes } = writeZip([entries[0], { ...entries[1], crc: 0x12345678 }]);
    const z = await open(bytes);
    expect(await z.read('a/data.pkl')).toEqual(text('hello'));
    const err = await rejection(() => z.read('a/data/0'));
    expect(err).toBeInstanceOf(ZipChecksumError);
    expect(err.message).toMatch(/a\/data\/0.*0x12345678/);
  });

  test('a flipped data byte is a ZipChecksumError', async () => {
    const { bytes, local } = writeZip(entries);
    bytes[local[1] + 30 + 'a/data/0'.length + 100] ^= 1;
    expect(await rejection(async () => (await open(bytes)).read('a/data/0'))).toBeInstanceOf(ZipChecksumError);
  });

  test('deflate is an unsupported-compression error when read', async () => {
    const err = await formatError(writeZip([{ name: 'x', data: text('abc'), method: 8 }]).bytes, 'x');
    expect(err.message).toMatch(/method 8 \(deflate\)/);
  });

  test('an unknown entry name', async () => {
    expect((await formatError(writeZip(entries).bytes, 'nope')).message).toMatch(/no entry named 'nope'/);
  });
});

describe('truncated and corrupt archives', () => {
  const full = writeZip(entries, { zip64: true });
  const cuts = [0, 3, 21, 40, full.local[1] + 10, full.centralStart + 5, full.eocd - 30, full.bytes.length - 1];
  test.each(cuts)('truncated to %i bytes', async (n) => {
    await formatError(full.bytes.slice(0, n));
  });

  test('the fixture truncated at several points', async () => {
    const tiny = fixtureBytes('tiny.pth');
    for (const n of [100, tiny.length / 2, tiny.length - 50, tiny.length - 22]) {
      await formatError(tiny.slice(0, Math.floor(n)));
    }
  });

  test('a middle chunk cut out, keeping the end records', async () => {
    const b = full.bytes;
    const holed = new Uint8Array([...b.subarray(0, full.local[1]), ...b.subarray(full.local[1] + 100)]);
    await formatError(holed);
  });

  test('central directory claimed past the file', async () => {
    const { bytes, eocd } = writeZip(entries);
    patch32(bytes, eocd + 16, 0x7ffffff0);
    expect((await formatError(bytes)).message).toMatch(/central directory/);
  });

  test('an entry count the directory cannot hold', async () => {
    const { bytes, eocd } = writeZip(entries);
    patch16(bytes, eocd + 8, 5000); patch16(bytes, eocd + 10, 5000);
    await formatError(bytes);
  });

  test('zip64 sizes saturated without a locator', async () => {
    const { bytes, eocd } = writeZip(entries);
    patch16(bytes, eocd + 8, 0xffff); patch16(bytes, eocd + 10, 0xffff);
    expect((await formatError(bytes)).message).toMatch(/zip64/);
  });

  test('zip64 record disagreeing with the classic one', async () => {
    const { bytes, eocd } = writeZip(entries, { zip64: true });
    patch16(bytes, eocd + 8, 2); patch16(bytes, eocd + 10, 2);
    expect((await formatError(bytes)).message).toMatch(/disagree/);
  });

  test('an entry whose data would run past the central directory', async () => {
    const { bytes, central } = writeZip(entries);
    patch32(bytes, central[2] + 20, 1 << 20); patch32(bytes, central[2] + 24, 1 << 20);
    expect((await formatError(bytes)).message).toMatch(/a\/version.*overlaps the central directory/);
  });

  test('two entries claiming the same bytes (a zip-bomb trick)', async () => {
    const { bytes, central, local } = writeZip(entries);
    patch32(bytes, central[2] + 42, local[1] + 8);
    expect((await formatError(bytes)).message).toMatch(/overlaps/);
  });

  test('a local header that names another file', async () => {
    const { bytes, local } = writeZip(entries);
    bytes[local[1] + 30] = 'b'.charCodeAt(0);
    expect((await formatError(bytes, 'a/data/0')).message).toMatch(/different file/);
  });

  test('no local header where the directory points', async () => {
    const { bytes, local } = writeZip(entries);
    patch32(bytes, local[1], 0xdeadbeef);
    expect((await formatError(bytes, 'a/data/0')).message).toMatch(/no local header/);
  });

  test('stored entry with different packed and unpacked sizes', async () => {
    const { bytes, central } = writeZip(entries);
    patch32(bytes, central[0] + 24, 4);
    await formatError(bytes);
  });

  test.each(['../evil', '/abs/path', 'a/../b', 'a\\b', '', 'nul\u0000x'])('unsafe name %j', async (name) => {
    await formatError(writeZip([{ name, data: text('x') }]).bytes);
  });

  test('duplicate names', async () => {
    expect((await formatError(writeZip([entries[0], entries[0]]).bytes)).message).toMatch(/twice/);
  });

  test('encrypted entries', async () => {
    expect((await formatError(writeZip([{ name: 'x', data: text('x'), flags: 1 }]).bytes)).message).toMatch(/encrypted/);
  });

  test('a central directory size that cuts the last record short', async () => {
    const { bytes, eocd } = writeZip(entries);
    const size = new DataView(bytes.buffer).getUint32(eocd + 12, true);
    patch32(bytes, eocd + 12, size - 3);
    await formatError(bytes);
  });
});
