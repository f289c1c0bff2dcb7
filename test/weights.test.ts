// Reading the fixture checkpoints end to end: the official 'model' state dict,
// never the EMA copy; config from shapes; byte ranges; and only model bytes read.
import { describe, expect, test } from 'vitest';
import { ModelShapeError, UnsafePickleError, WeightFormatError } from '../src/errors.js';
import { expectedTensors } from '../src/model/config.js';
import { detectFormat, listTensors, loadVimWeights, readStateDict } from '../src/weights/index.js';
import { fileSource } from '../src/weights/node-source.js';
import { unpickle } from '../src/weights/pickle.js';
import { TensorRef } from '../src/weights/pickle-values.js';
import { openPth } from '../src/weights/pth.js';
import { blobSource, bufferSource } from '../src/weights/source.js';
import { ZipArchive } from '../src/weights/zip.js';
import { fixturePath } from './fixtures.js';
import { PickleWriter, buildPth, countingSource, f32Bytes, fixtureBytes, rejection } from './weights-helpers.js';

const tiny = fixtureBytes('tiny.pth');
const full = fixtureBytes('tiny_full_checkpoint.pth');

describe('tiny.pth', () => {
  test('reads 41 float32 tensors in state_dict order and derives the tiny config', async () => {
    const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', tiny));
    expect(config).toEqual({ depth: 2, embedDim: 32, dInner: 64, dState: 4, dConv: 4, dtRank: 2, patchSize: 16,
      numClasses: 10, posRows: 17, normEps: 1e-5 });
    expect(tensors.size).toBe(41);
    expect([...tensors.keys()]).toEqual(expectedTensors(config).map(([n]) => n));
    for (const [name, shape] of expectedTensors(config)) {
      const t = tensors.get(name)!;
      expect(t.shape).toEqual(shape);
      expect(t.data.length).toBe(shape.reduce((a, b) => a * b, 1));
      expect(t.data.every(Number.isFinite)).toBe(true);
    }
    // First values of cls_token as stored in record tiny/data/0 (little-endian float32).
    expect(Array.from(tensors.get('cls_token')!.data.slice(0, 2))).toEqual([-0.05107428506016731, -0.03849191963672638]);
  });

  test('listing gives byte ranges that hold exactly the tensor data, 64-byte aligned as torch writes them', async () => {
    const { format, tensors: listing } = await listTensors(bufferSource('tiny.pth', tiny));
    expect(format).toBe('pth');
    const sd = await readStateDict(bufferSource('tiny.pth', tiny));
    expect(listing.map((t) => t.name)).toEqual([...sd.keys()]);
    for (const t of listing) {
      expect(t.dtype).toBe('f32');
      expect(t.contiguous).toBe(true);
      expect(t.byteOffset % 64).toBe(0);
      const raw = tiny.slice(t.byteOffset, t.byteOffset + t.byteLength);
      expect(new Float32Array(raw.buffer)).toEqual(sd.get(t.name)!.data);
    }
  });

  test('file and Blob sources read the same tensors as a buffer', async () => {
    const expected = await readStateDict(bufferSource('tiny.pth', tiny));
    const file = await fileSource(fixturePath('tiny.pth'));
    try {
      expect(file.name).toBe('tiny.pth');
      expect(file.size).toBe(tiny.length);
      expect(await readStateDict(file)).toEqual(expected);
      await expect(file.read(file.size - 4, 8)).rejects.toBeInstanceOf(WeightFormatError);
    } finally {
      await file.close();
    }
    expect(await readStateDict(blobSource(new Blob([tiny.slice()]), 'tiny.pth'))).toEqual(expected);
    const missing = await rejection(() => fileSource(fixturePath('no-such-file.pth')));
    expect(missing).toBeInstanceOf(WeightFormatError);
    expect(missing.message).toMatch(/no-such-file\.pth.*cannot open/);
  });
});

describe('tiny_full_checkpoint.pth (model, model_ema, optimizer, args, ...)', () => {
  test("returns checkpoint['model'], identical to tiny.pth, and not the 0.5x EMA copy", async () => {
    const model = await readStateDict(bufferSource('tiny.pth', tiny));
    const fromFull = await readStateDict(bufferSource('full.pth', full));
    expect(fromFull).toEqual(model);

    // Read the EMA copy by hand to prove it exists and differs.
    const archive = await ZipArchive.open(bufferSource('full.pth', full));
    const top = unpickle(await archive.read('tiny_full_checkpoint/data.pkl'), 'full.pth') as Map<unknown, unknown>;
    expect([...top.keys()].sort()).toEqual(['args', 'epoch', 'lr_scheduler', 'model', 'model_ema', 'optimizer', 'scaler']);
    const ema = (top.get('model_ema') as Map<string, TensorRef>).get('head.weight')!;
    const emaData = new Float32Array((await archive.read(`tiny_full_checkpoint/data/${ema.storageKey}`)).buffer);
    const head = fromFull.get('head.weight')!.data;
    expect(emaData).not.toEqual(head);
    expect(Array.from(emaData)).toEqual(Array.from(head, (v) => Math.fround(0.5 * v)));
  });

  test('the argparse.Namespace comes back as plain attributes', async () => {
    const archive = await ZipArchive.open(bufferSource('full.pth', full));
    const top = unpickle(await archive.read('tiny_full_checkpoint/data.pkl'), 'full.pth') as Map<unknown, unknown>;
    const args = top.get('args') as { className: string; attrs: Map<string, unknown> };
    expect(args.className).toBe('argparse.Namespace');
    expect(args.attrs.get('input_size')).toBe(64);
    expect(top.get('scaler')).toBe('none');
  });

  test('reads under 60% of the file: optimizer and EMA records are skipped', async () => {
    const ckpt = await openPth(bufferSource('full.pth', full));
    expect(ckpt.stateDictKey).toBe('model');
    expect(ckpt.prefix).toBe('tiny_full_checkpoint');
    const src = countingSource('full.pth', full);
    await readStateDict(src);
    // The model is about a quarter of this file; the rest must never be read.
    expect(src.bytesRead / full.length).toBeLessThan(0.6);
    console.log(`read ${src.bytesRead} of ${full.length} bytes`);
  });

  test('a corrupt EMA record goes unnoticed, a corrupt model record is a checksum error', async () => {
    const ckpt = await openPth(bufferSource('full.pth', full));
    const archive = ckpt.archive;
    const top = unpickle(await archive.read('tiny_full_checkpoint/data.pkl'), 'full.pth') as Map<unknown, unknown>;
    const emaKey = (top.get('model_ema') as Map<string, TensorRef>).get('head.weight')!.storageKey;
    const emaAt = await archive.dataOffset(archive.get(`tiny_full_checkpoint/data/${emaKey}`)!);
    const badEma = full.slice(); badEma[emaAt + 5] ^= 0xff;
    expect(await readStateDict(bufferSource('x.pth', badEma))).toEqual(await readStateDict(bufferSource('y.pth', tiny)));
    const headAt = ckpt.tensors.find((t) => t.name === 'head.weight')!.byteOffset;
    const badModel = full.slice(); badModel[headAt + 5] ^= 0xff;
    const err = await rejection(() => readStateDict(bufferSource('x.pth', badModel)));
    expect(err.name).toBe('ZipChecksumError');
    expect(err.message).toMatch(/x\.pth.*CRC-32/);
  });
});

describe('loadVimWeights rejects state dicts that are not a Vim', () => {
  async function tinySpecs() {
    const sd = await readStateDict(bufferSource('tiny.pth', tiny));
    return [...sd].map(([name, t]) => ({ name, shape: t.shape, record: f32Bytes(t.data) }));
  }

  test('a re-shaped tensor names the tensor and both shapes, before tensor data is read', async () => {
    const specs = await tinySpecs();
    const t = specs.find((s) => s.name === 'layers.1.mixer.x_proj_b.weight')!;
    t.shape = [t.shape[1], t.shape[0]];                               // (10, 64) stored as (64, 10)
    const src = countingSource('reshaped.pth', buildPth(specs));
    const err = await rejection(() => loadVimWeights(src));
    expect(err).toBeInstanceOf(ModelShapeError);
    expect((err as ModelShapeError).tensor).toBe('layers.1.mixer.x_proj_b.weight');
    expect(err.message).toContain('(10, 64)');
    expect(err.message).toContain('(64, 10)');
    expect(err.message).toContain('reshaped.pth');
    const modelBytes = specs.reduce((a, s) => a + s.record.length, 0);
    expect(src.bytesRead).toBeLessThan(modelBytes);
  });

  test('a missing tensor', async () => {
    const specs = (await tinySpecs()).filter((s) => s.name !== 'layers.0.mixer.D_b');
    const err = await rejection(() => loadVimWeights(bufferSource('m.pth', buildPth(specs))));
    expect(err).toBeInstanceOf(ModelShapeError);
    expect((err as ModelShapeError).tensor).toBe('layers.0.mixer.D_b');
    expect(err.message).toMatch(/missing/);
  });

  test('an extra tensor', async () => {
    const specs = await tinySpecs();
    specs.push({ name: 'norm_f.bias', shape: [32], record: f32Bytes(new Float32Array(32)) });
    const err = await rejection(() => loadVimWeights(bufferSource('e.pth', buildPth(specs))));
    expect(err).toBeInstanceOf(ModelShapeError);
    expect((err as ModelShapeError).tensor).toBe('norm_f.bias');
  });

  test('a pickle naming os.system inside a checkpoint is refused, naming the global', async () => {
    const evil = new PickleWriter().proto(2).global('os', 'system').str('touch pwned').op(0x85, 0x52).stop().bytes();
    const err = await rejection(() => loadVimWeights(bufferSource('evil.pth', buildPth([], { pickle: evil }))));
    expect(err).toBeInstanceOf(UnsafePickleError);
    expect((err as UnsafePickleError).global).toBe('os.system');
    expect(err.message).toContain('evil.pth');
  });
});

describe('format detection', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty', new Uint8Array(0), /empty/],
    ['legacy', Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20), /legacy/],
    ['gzip', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0), /gzip/],
    ['lfs', new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:ab\n'), /Git LFS/],
    ['html', new TextEncoder().encode('<!DOCTYPE html><html>Not Found</html>'), /HTML/],
    ['noise', Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), /01 02 03 04/],
  ];
  for (const [name, bytes, message] of cases) {
    test(`${name} is a WeightFormatError that says what the file looks like`, async () => {
      const err = await rejection(() => readStateDict(bufferSource(`${name}.bin`, bytes)));
      expect(err).toBeInstanceOf(WeightFormatError);
      expect(err.message).toMatch(message);
      expect(err.message).toContain(`${name}.bin`);
    });
  }

  test('zip and safetensors are recognized by their first bytes', async () => {
    expect(await detectFormat(bufferSource('a', tiny))).toBe('pth');
    const st = new Uint8Array(16);
    st[0] = 2; st[8] = 0x7b; st[9] = 0x7d;
    expect(await detectFormat(bufferSource('b', st))).toBe('safetensors');
  });
});
