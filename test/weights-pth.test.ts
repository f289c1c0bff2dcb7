// .pth semantics on hand-built checkpoints: which dict is the state dict, dtype
// conversion, strided views, and records that disagree with the pickle.
import { describe, expect, test } from 'vitest';
import { UnsupportedDtypeError, WeightFormatError } from '../src/errors.js';
import { floatToBf16, floatToHalf } from '../src/weights/dtype.js';
import { listTensors, readStateDict } from '../src/weights/index.js';
import { openPth } from '../src/weights/pth.js';
import { bufferSource } from '../src/weights/source.js';
import { PickleWriter, buildPth, countingSource, f32Bytes, rejection, stateDictPickle, type PthTensorSpec } from './weights-helpers.js';
import { writeZip } from './zip-writer.js';

const read = (bytes: Uint8Array) => readStateDict(bufferSource('h.pth', bytes));
const w = (name = 'w', values = [1, 2, 3, 4, 5, 6], shape = [2, 3]): PthTensorSpec => ({ name, shape, record: f32Bytes(values) });

async function formatError(bytes: Uint8Array, message: RegExp): Promise<void> {
  const err = await rejection(() => read(bytes));
  expect(err).toBeInstanceOf(WeightFormatError);
  expect(err.message).toMatch(message);
  expect(err.message).toContain('h.pth');
}

describe('choosing the state dict', () => {
  test.each(['model', 'state_dict', null])('top level %s', async (wrap) => {
    const sd = await read(buildPth([w()], { wrap }));
    expect(sd.get('w')).toEqual({ shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
  });

  test("'model' wins over 'model_ema' whatever the order", async () => {
    const ema = stateDictPickle([{ ...w('w', [9, 9, 9, 9, 9, 9]), key: 'e' }], 'model_ema');
    const model = stateDictPickle([{ ...w(), key: 'm' }], 'model');
    // Splice two one-key dicts into one: {'model_ema': ..., 'model': ...}.
    const body = (p: Uint8Array) => p.subarray(4, p.length - 2);      // drop PROTO, EMPTY_DICT, MARK ... SETITEMS, STOP
    const pickle = new PickleWriter().proto(2).op(0x7d).mark().op(...body(ema), ...body(model)).op(0x75).stop().bytes();
    const bytes = buildPth([{ ...w('w', [9, 9, 9, 9, 9, 9]), key: 'e' }, { ...w(), key: 'm' }], { pickle });
    expect(Array.from((await read(bytes)).get('w')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('any archive folder name works (the stem is not hard-coded)', async () => {
    const ckpt = await openPth(bufferSource('x', buildPth([w()], { stem: 'vim_t_midclstok_76p1acc.v2' })));
    expect(ckpt.prefix).toBe('vim_t_midclstok_76p1acc.v2');
    expect(ckpt.stateDictKey).toBe('model');
  });

  test('a dict with neither a model nor tensors names its keys', async () => {
    const pickle = new PickleWriter().proto(2).op(0x7d).mark().str('epoch').int(3).str('optimizer').op(0x7d).op(0x75).stop().bytes();
    await formatError(buildPth([], { pickle }), /no state dict found: top-level keys are "epoch", "optimizer"/);
  });

  test("checkpoint['model'] that is not a dict", async () => {
    const pickle = new PickleWriter().proto(2).op(0x7d).str('model').str('oops').op(0x73).stop().bytes();
    await formatError(buildPth([], { pickle }), /checkpoint\['model'\] is a "oops"/);
  });

  test('a state dict entry that is not a tensor', async () => {
    const pickle = new PickleWriter().proto(2).op(0x7d).str('model').op(0x7d).str('w').int(1).op(0x73, 0x73).stop().bytes();
    await formatError(buildPth([], { pickle }), /entry 'w' is a 1, not a tensor/);
  });

  test('no data.pkl, or two of them', async () => {
    await formatError(writeZip([{ name: 'a/data/0', data: new Uint8Array(4) }]).bytes, /no <name>\/data\.pkl/);
    const two = writeZip([{ name: 'a/data.pkl', data: stateDictPickle([]) }, { name: 'b/data.pkl', data: stateDictPickle([]) }]);
    await formatError(two.bytes, /2 data\.pkl files/);
  });

  test('a big-endian checkpoint is refused', async () => {
    const bytes = buildPth([w()], { extra: [{ name: 'archive/byteorder', data: new TextEncoder().encode('big') }] });
    await formatError(bytes, /big-endian/);
  });
});

describe('dtypes and layouts', () => {
  const values = [0.5, -1.25, 3, 1000.5];
  test('f16, bf16 and f64 storages become float32', async () => {
    const half = new Uint8Array(Uint16Array.from(values, floatToHalf).buffer);
    const bf = new Uint8Array(Uint16Array.from(values, floatToBf16).buffer);
    const dbl = new Uint8Array(Float64Array.from([Math.PI, 1e-3]).buffer);
    const sd = await read(buildPth([
      { name: 'h', shape: [4], record: half, storageType: 'HalfStorage' },
      { name: 'b', shape: [2, 2], record: bf, storageType: 'BFloat16Storage' },
      { name: 'd', shape: [2], record: dbl, storageType: 'DoubleStorage' },
    ]));
    expect(Array.from(sd.get('h')!.data)).toEqual(values);
    expect(Array.from(sd.get('b')!.data)).toEqual([0.5, -1.25, 3, 1000]);   // bf16 has 8 significant bits: steps of 4 here
    expect(Array.from(sd.get('d')!.data)).toEqual([Math.fround(Math.PI), Math.fround(1e-3)]);
  });

  test('an integer storage is an UnsupportedDtypeError naming the tensor', async () => {
    const err = await rejection(() => read(buildPth([{ name: 'steps', shape: [1], record: new Uint8Array(8), storageType: 'LongStorage' }])));
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err).toMatchObject({ tensor: 'steps', dtype: 'i64' });
  });

  test('an unknown storage class is an UnsupportedDtypeError, even when only listing', async () => {
    const bytes = buildPth([{ name: 'q', shape: [4], record: new Uint8Array(4), storageType: 'QUInt8Storage', numel: 4 }]);
    const err = await rejection(() => listTensors(bufferSource('h.pth', bytes)));
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err).toMatchObject({ tensor: 'q', dtype: 'torch.QUInt8Storage' });
  });

  test('views: storage offset, transposed strides, and two tensors sharing one record', async () => {
    const storage = f32Bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const src = countingSource('h.pth', buildPth([
      { name: 'tail', shape: [3], record: storage, key: 's', offset: 7 },
      { name: 't', shape: [3, 2], record: storage, key: 's', offset: 1, stride: [1, 3] },   // (2,3) block, transposed
      { name: 'one', shape: [1, 4], record: storage, key: 's', offset: 2, stride: [99, 1] }, // size-1 dim: stride irrelevant
    ]));
    const listing = (await openPth(src)).tensors;
    expect(listing.map((t) => [t.contiguous, t.byteLength])).toEqual([[true, 12], [false, 6 * 4], [true, 16]]);
    const before = src.bytesRead;
    const sd = await readStateDict(src);
    expect(Array.from(sd.get('tail')!.data)).toEqual([7, 8, 9]);
    expect(Array.from(sd.get('t')!.data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(sd.get('one')!.data)).toEqual([2, 3, 4, 5]);
    // Listing reads no tensor data; reading fetches the shared record once for all three tensors.
    expect(src.reads.filter(([, n]) => n === storage.length)).toHaveLength(1);
    expect(src.bytesRead - before).toBeLessThan(storage.length + 2000);
  });

  test('empty tensors are fine', async () => {
    const sd = await read(buildPth([{ name: 'e', shape: [0, 5], record: new Uint8Array(0) }]));
    expect(sd.get('e')).toEqual({ shape: [0, 5], data: new Float32Array(0) });
  });
});

describe('records that disagree with the pickle', () => {
  test('record shorter than the storage the pickle claims', async () => {
    await formatError(buildPth([{ ...w(), numel: 7 }]), /has 24 bytes, but the pickle claims 7 × f32 = 28 bytes/);
  });

  test('record longer than claimed', async () => {
    await formatError(buildPth([{ ...w(), numel: 5 }]), /has 24 bytes, but the pickle claims 5 × f32/);
  });

  test('a view reaching past its storage', async () => {
    await formatError(buildPth([{ ...w(), offset: 1 }]), /reaches past the end of its 6-element storage/);
    await formatError(buildPth([{ ...w(), stride: [3, 2] }]), /reaches past/);
  });

  test('a storage record missing from the zip', async () => {
    const pickle = stateDictPickle([{ ...w(), key: '42' }]);
    await formatError(buildPth([], { pickle }), /needs record archive\/data\/42, which the zip lacks/);
  });

  test('one storage key described with two sizes', async () => {
    const storage = f32Bytes([1, 2, 3, 4]);
    await formatError(buildPth([
      { name: 'a', shape: [4], record: storage, key: 's' },
      { name: 'b', shape: [2], record: storage, key: 's', numel: 2 },
    ]), /described twice/);
  });

  test('a compressed storage record', async () => {
    const bytes = writeZip([
      { name: 'a/data.pkl', data: stateDictPickle([w()]) },
      { name: 'a/data/0', data: f32Bytes([1, 2, 3, 4, 5, 6]), method: 8 },
    ]).bytes;
    await formatError(bytes, /compression method 8/);
  });

  test('a corrupted pickle record is a checksum error before any unpickling', async () => {
    const bytes = buildPth([w()]);
    bytes[30 + 'archive/data.pkl'.length + 3] ^= 0x20;
    const err = await rejection(() => read(bytes));
    expect(err.name).toBe('ZipChecksumError');
  });
});
