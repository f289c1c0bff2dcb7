// safetensors reader and writer, half/bfloat16 conversion, and headers that lie.
import { describe, expect, test } from 'vitest';
import { UnsupportedDtypeError, WeightFormatError } from '../src/errors.js';
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from '../src/weights/dtype.js';
import { listTensors, loadVimWeights, readStateDict } from '../src/weights/index.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../src/weights/safetensors.js';
import { bufferSource } from '../src/weights/source.js';
import { fixtureBytes, rejection } from './weights-helpers.js';

/** A file with the given header object and data area, as a lying writer would produce it. */
function rawFile(header: unknown, dataBytes: number, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  return out;
}
const st = (bytes: Uint8Array) => bufferSource('w.safetensors', bytes);

describe('half and bfloat16', () => {
  test('every finite f16 bit pattern survives decode → encode, and matches the IEEE value', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = halfToFloat(bits);
      if (Number.isNaN(v)) { expect(floatToHalf(v) & 0x7c00).toBe(0x7c00); continue; }
      expect(floatToHalf(v)).toBe(bits);
    }
    expect([halfToFloat(0x3c00), halfToFloat(0xc000), halfToFloat(0x7bff), halfToFloat(0x0001), halfToFloat(0x7c00)])
      .toEqual([1, -2, 65504, 2 ** -24, Infinity]);
  });

  test('every bf16 bit pattern survives decode → encode', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = bf16ToFloat(bits);
      if (Number.isNaN(v)) { expect(Number.isNaN(bf16ToFloat(floatToBf16(v)))).toBe(true); continue; }
      expect(floatToBf16(v)).toBe(bits);
    }
  });

  test('rounding is to nearest, ties to even', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);               // tie → even (down)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);           // tie → even (up)
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);    // above the tie
    expect(floatToHalf(65520)).toBe(0x7c00);                       // rounds past the largest half
    expect(floatToHalf(2 ** -25)).toBe(0);                         // tie between 0 and the smallest subnormal
    expect(floatToHalf(3 * 2 ** -26)).toBe(1);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBf16(-Infinity)).toBe(0xff80);
  });
});

describe('writer and reader', () => {
  test('F32 round trip is exact and keeps metadata and order', async () => {
    const sd = new Map([
      ['b', { shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 1e-30, -0, 7) }],
      ['a', { shape: [1], data: Float32Array.of(Math.PI) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(sd, { format: 'pt', source: 'test' });
    const header = await readSafetensorsHeader(st(bytes));
    expect(header.metadata).toEqual({ format: 'pt', source: 'test' });
    expect(header.dataStart % 8).toBe(0);
    expect(await readStateDict(st(bytes))).toEqual(new Map([...sd].map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }])));
  });

  test('F16 and BF16 round trip through the writer', async () => {
    const values = Float32Array.of(0, 1, -1.5, 0.1, 1000.25, 3e-6, 65504, -7.123);
    const bytes = writeSafetensors([
      { name: 'h', dtype: 'F16', shape: [8], data: values },
      { name: 'b', dtype: 'BF16', shape: [2, 4], data: values },
    ]);
    const { tensors } = await listTensors(st(bytes));
    expect(tensors.map((t) => [t.name, t.dtype, t.byteLength])).toEqual([['h', 'f16', 16], ['b', 'bf16', 16]]);
    const sd = await readSafetensors(st(bytes));
    expect(Array.from(sd.get('h')!.data)).toEqual(Array.from(values, (v) => halfToFloat(floatToHalf(v))));
    expect(Array.from(sd.get('b')!.data)).toEqual(Array.from(values, (v) => bf16ToFloat(floatToBf16(v))));
    for (const [got, want] of [[sd.get('h')!.data, 1e-3], [sd.get('b')!.data, 8e-3]] as const) {
      got.forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(want * Math.max(1, Math.abs(values[i]))));
    }
  });

  test('a converted tiny checkpoint loads with the same config and tensors', async () => {
    const pth = await loadVimWeights(bufferSource('tiny.pth', fixtureBytes('tiny.pth')));
    const converted = await loadVimWeights(st(writeSafetensors(pth.tensors)));
    expect(converted.config).toEqual(pth.config);
    expect(converted.tensors).toEqual(pth.tensors);
  });

  test('the writer refuses shape/data mismatches and reserved names', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }])).toThrow(/3 elements/);
    expect(() => writeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [1], data: new Float32Array(1) }])).toThrow(/reserved/);
  });

  test('a tensor named __proto__ is just a name', async () => {
    const bytes = writeSafetensors([{ name: '__proto__', dtype: 'F32', shape: [1], data: Float32Array.of(5) }]);
    expect((await readStateDict(st(bytes))).get('__proto__')!.data[0]).toBe(5);
  });
});

describe('headers that lie', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['offsets outside the data area', rawFile({ a: { ...ok, data_offsets: [8, 16] } }, 8), /outside the 8-byte data area/],
    ['end before begin', rawFile({ a: { ...ok, data_offsets: [8, 0] } }, 8), /outside/],
    ['negative offset', rawFile({ a: { ...ok, data_offsets: [-8, 0] } }, 8), /invalid data_offsets/],
    ['fractional offset', rawFile({ a: { ...ok, data_offsets: [0.5, 8.5] } }, 16), /invalid data_offsets/],
    ['overlapping tensors', rawFile({ a: ok, b: { ...ok, data_offsets: [4, 12] } }, 12), /'a' and 'b' overlap/],
    ['shape × size ≠ span', rawFile({ a: { ...ok, shape: [3] } }, 8), /needs 12 bytes, data_offsets span 8/],
    ['huge header length', rawFile({ a: ok }, 8, 2 ** 40), /header length 1099511627776 is impossible/],
    ['header longer than the file', rawFile({ a: ok }, 8, 1000), /impossible/],
    ['header too short', rawFile('{}', 0, 1), /impossible/],
    ['not JSON', rawFile('{"a": nope}', 0), /not valid UTF-8 JSON/],
    ['a JSON array', rawFile('[1, 2]', 0), /not a JSON object/],
    ['metadata with a number', rawFile({ __metadata__: { n: 1 } }, 0), /__metadata__\['n'\] is not a string/],
    ['entry that is not an object', rawFile({ a: 5 }, 0), /'a' is not an object/],
    ['unknown field', rawFile({ a: { ...ok, quant: 'q4' } }, 8), /unknown field 'quant'/],
    ['missing shape', rawFile({ a: { dtype: 'F32', data_offsets: [0, 0] } }, 0), /invalid shape/],
    ['negative dimension', rawFile({ a: { ...ok, shape: [-2] } }, 8), /invalid shape/],
    ['too short for a length', new Uint8Array(4), /too short/],
  ];
  test.each(cases)('%s', async (_, bytes, message) => {
    const err = await rejection(() => readSafetensorsHeader(st(bytes)));
    expect(err).toBeInstanceOf(WeightFormatError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain('w.safetensors');
  });

  test('an unknown dtype is an UnsupportedDtypeError naming tensor and dtype', async () => {
    const err = await rejection(() => readSafetensorsHeader(st(rawFile({ q: { ...ok, dtype: 'F8_E4M3' } }, 8))));
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err).toMatchObject({ tensor: 'q', dtype: 'F8_E4M3' });
  });

  test('an integer tensor lists fine but cannot be read as weights', async () => {
    const bytes = rawFile({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8);
    expect((await listTensors(st(bytes))).tensors[0].dtype).toBe('i64');
    const err = await rejection(() => readStateDict(st(bytes)));
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err).toMatchObject({ tensor: 'ids', dtype: 'i64' });
  });
});
