// The converter and the vim-webgpu format on the host (no GPU): SHA-256 against
// node:crypto, the int8/f16 encodings, f32/f16/int8 round trips of tiny.pth and
// of the procedural Vim-Ti, files that standard safetensors readers accept,
// alignment, and the `convert` command.
import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, readManifest } from './fixtures.js';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { expectedTensors } from '../src/model/config.js';
import { bufferSource } from '../src/weights/source.js';
import { readStateDict, writeSafetensors } from '../src/weights/index.js';
import { readSafetensorsHeader } from '../src/weights/safetensors.js';
import { convertWeights } from '../src/weights/convert.js';
import { concatVimFile } from '../src/weights/format-write.js';
import { readVimFileHeader, readVimFileStateDict } from '../src/weights/format-read.js';
import { ALIGNMENT, PAD_PREFIX } from '../src/weights/format.js';
import { Sha256, sha256Hex } from '../src/weights/sha256.js';
import { decodeF16, dequantizeInt8, encodeF16, quantizeInt8 } from '../src/weights/quantize.js';
import type { StateDict } from '../src/tensor.js';
import { convert } from '../src/cli/convert.js';
import type { WeightDType } from '../src/weights/weight-dtype.js';

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

describe('sha256', () => {
  test('matches node:crypto for lengths around block edges, fed in uneven pieces', () => {
    const data = new Uint8Array(random(300, 7).buffer);
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 1200]) {
      const want = createHash('sha256').update(data.subarray(0, n)).digest('hex');
      expect(sha256Hex(data.subarray(0, n))).toBe(want);
      const h = new Sha256();
      for (let at = 0, step = 1; at < n; at += step, step = (step * 7) % 97 + 1) h.update(data.subarray(at, Math.min(n, at + step)));
      expect(h.hex()).toBe(want);
    }
  });
});

describe('encodings', () => {
  test('int8: per-row symmetric, error ≤ half a step, zero rows exact, max maps to ±127', () => {
    const rows = 5, cols = 33, w = random(rows * cols, 3);
    w.fill(0, 2 * cols, 3 * cols);
    w[4 * cols + 7] = -3.5;
    const { q, scales } = quantizeInt8(w, rows);
    const back = dequantizeInt8(q, scales);
    expect(scales[2]).toBe(0);
    expect(q[4 * cols + 7]).toBe(-127);
    expect(Math.min(...q)).toBeGreaterThanOrEqual(-127);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(scales[Math.floor(i / cols)] / 2 * 1.0001);
  });

  test('f16: round to nearest even, relative error ≤ 2^-11 in the normal range', () => {
    const w = random(1000, 5);
    const back = decodeF16(encodeF16(w));
    for (let i = 0; i < w.length; i++) if (Math.abs(w[i]) > 1e-4) expect(Math.abs(back[i] - w[i]) / Math.abs(w[i])).toBeLessThanOrEqual(2 ** -11);
  });
});

/** Max |a − b| per tensor must stay within `tol(name, original)`. */
function expectClose(a: StateDict, b: StateDict, tol: (name: string, t: Float32Array) => number) {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.shape).toEqual(t.shape);
    let max = 0;
    for (let i = 0; i < t.data.length; i++) max = Math.max(max, Math.abs(t.data[i] - u.data[i]));
    expect(max, name).toBeLessThanOrEqual(tol(name, t.data));
  }
}

const absMax = (t: Float32Array) => t.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
/** Per dtype: f32 exact; f16 half an ulp; int8 half a step of the row with the largest scale. */
const TOLERANCE: Record<WeightDType, (name: string, t: Float32Array) => number> = {
  f32: () => 0,
  f16: (_, t) => absMax(t) * 2 ** -11,
  int8: (_, t) => absMax(t) / 127 / 2 * 1.0001,
};

async function roundTrip(name: string, src: Uint8Array, sd: StateDict) {
  const sizes: Record<string, number> = {};
  for (const dtype of ['f32', 'f16', 'int8'] as const) {
    const file = concatVimFile(await convertWeights(bufferSource(name, src), { dtype }));
    sizes[dtype] = file.byteLength;
    // A standard safetensors reader accepts it (our reader applies the format's rules).
    const plain = await readSafetensorsHeader(bufferSource(name, file));
    expect(plain.metadata.format).toBe('vim-webgpu');
    expect(plain.dataStart % ALIGNMENT).toBe(0);
    for (const t of plain.tensors) if (!t.name.startsWith(PAD_PREFIX)) expect(t.byteOffset % ALIGNMENT, t.name).toBe(0);
    const back = await readVimFileStateDict(bufferSource(`${name}.${dtype}`, file));
    expectClose(sd, back, TOLERANCE[dtype]);
    // Re-converting our own file reproduces it: int8 → int8 is a fixed point.
    if (dtype !== 'f16') {
      const again = concatVimFile(await convertWeights(bufferSource('again', file), { dtype }));
      const h1 = await readVimFileHeader(bufferSource('a', file)), h2 = await readVimFileHeader(bufferSource('b', again));
      expect([...h2.entries].map((e) => e.sha256)).toEqual([...h1.entries].map((e) => e.sha256));
    }
  }
  return sizes;
}

describe('convert', () => {
  test('tiny.pth: f32 exact, f16 and int8 within their rounding', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('tiny.pth')));
    const sd = await readStateDict(bufferSource('tiny.pth', bytes));
    const sizes = await roundTrip('tiny.pth', bytes, sd);
    console.log('tiny.pth', bytes.length, 'bytes →', JSON.stringify(sizes));
    expect(sizes.int8).toBeLessThan(sizes.f16);
    expect(sizes.f16).toBeLessThan(sizes.f32);
  });

  test('the full training checkpoint converts to the same file as its model state dict', async () => {
    const a = await convertWeights(bufferSource('tiny.pth', new Uint8Array(readFileSync(fixturePath('tiny.pth')))), { dtype: 'int8' });
    const b = await convertWeights(bufferSource('full', new Uint8Array(readFileSync(fixturePath('tiny_full_checkpoint.pth')))), { dtype: 'int8' });
    expect(JSON.parse(b.metadata.sha256)).toEqual(JSON.parse(a.metadata.sha256));
  });

  test('procedural vim_ti_224 (from a safetensors state dict): all three dtypes, sizes', async () => {
    const c = readManifest().cases.vim_ti_224;
    const sd = proceduralWeights(proceduralConfig(192, 197), c.procedural!.seed);
    const sizes = await roundTrip('vim_ti_224', writeSafetensors(sd), sd);
    console.log('vim_ti_224 bytes:', JSON.stringify(sizes));
    // Vim-Ti: 7.15 M parameters; int8 stores 6.7 M of them in one byte.
    expect(sizes.f32).toBeGreaterThan(28.5e6);
    expect(sizes.int8).toBeLessThan(9e6);
  });

  test('progress is monotonic and ends at the total; only model tensors are read', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('tiny_full_checkpoint.pth')));
    const seen: Array<[number, number]> = [];
    let readBytes = 0;
    const src = bufferSource('full', bytes);
    const counting = { ...src, read: (o: number, n: number) => { readBytes += n; return src.read(o, n); } };
    await convertWeights(counting, { dtype: 'f16', onProgress: (a, b) => seen.push([a, b]) });
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);
    expect(seen.at(-1)![0]).toBe(seen.at(-1)![1]);
    // The optimizer state and the EMA copy make up most of this file and are never read.
    expect(readBytes).toBeLessThan(bytes.length / 2);
  });

  test('typed errors: not a checkpoint, not a Vim, unknown dtype', async () => {
    await expect(convertWeights(bufferSource('x.bin', new Uint8Array(100)), { dtype: 'int8' })).rejects.toThrow(/not a weight file/);
    const notVim = writeSafetensors(new Map([['w', { shape: [2, 2], data: new Float32Array(4) }]]));
    await expect(convertWeights(bufferSource('w.safetensors', notVim), { dtype: 'int8' })).rejects.toMatchObject({ name: 'ModelShapeError' });
    await expect(convertWeights(bufferSource('tiny', new Uint8Array(8)), { dtype: 'int4' as never })).rejects.toThrow(/unknown dtype/);
  });
});

describe('shipped files', () => {
  // weights/tiny-*.safetensors are what the browser tests stream: they must be what the converter makes today.
  test.each(['f16', 'int8'] as const)('weights/tiny-%s.safetensors is the current conversion of tiny.pth', async (dtype) => {
    const shipped = new Uint8Array(readFileSync(join(__dirname, '..', 'weights', `tiny-${dtype}.safetensors`)));
    const fresh = concatVimFile(await convertWeights(bufferSource('tiny.pth', new Uint8Array(readFileSync(fixturePath('tiny.pth')))), { dtype }));
    expect(sha256Hex(shipped)).toBe(sha256Hex(fresh));
  });
});

describe('vim-webgpu convert', () => {
  test('writes the file and prints its sha256', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vim-convert-'));
    const out = join(dir, 'tiny-int8.safetensors');
    const log: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => { log.push(s); return true; }) as typeof process.stdout.write;
    try {
      await convert([fixturePath('tiny.pth'), '--dtype', 'int8', '-o', out, '--json']);
    } finally {
      process.stdout.write = write;
    }
    const report = JSON.parse(log.join(''));
    const file = readFileSync(out);
    expect(report.bytes).toBe(file.length);
    expect(report.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect((await readVimFileHeader(bufferSource('out', new Uint8Array(file)))).target).toBe('int8');
    expect(expectedTensors(report.config).length).toBe(6 + 17 * 2 + 1);
    await expect(convert([fixturePath('tiny.pth'), '--dtype', 'int3', '-o', out])).rejects.toThrow(/--dtype/);
  });
});
