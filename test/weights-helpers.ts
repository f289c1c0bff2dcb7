// Test helpers for the weight readers: a pickle assembler, a .pth builder that
// writes what torch.save writes (or a deliberately broken variant of it), and a
// source that counts the bytes it serves.
import { readFileSync } from 'node:fs';
import { bufferSource, type RandomAccessSource } from '../src/weights/source.js';
import { fixturePath } from './fixtures.js';
import { writeZip, type ZipInput } from './zip-writer.js';

/** Assembles pickle opcodes by hand, so tests can say exactly what a hostile file contains. */
export class PickleWriter {
  private readonly out: number[] = [];
  op(...bytes: number[]): this { this.out.push(...bytes); return this; }
  proto(n = 2): this { return this.op(0x80, n); }
  mark(): this { return this.op(0x28); }
  stop(): this { return this.op(0x2e); }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    return this.op(0x4a, ...u32(n >>> 0));
  }
  float(x: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return this.op(0x47, ...b);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  /** A tuple of the items pushed since the last mark. */
  tuple(): this { return this.op(0x74); }
  ints(values: number[]): this { this.mark(); values.forEach((v) => this.int(v)); return this.tuple(); }
  bytes(): Uint8Array { return new Uint8Array(this.out); }
}

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

export interface PthTensorSpec {
  name: string;
  shape: number[];
  /** Raw storage bytes (written once per key). */
  record: Uint8Array;
  storageType?: string;
  /** Storage element count the pickle claims; defaults to what the record holds. */
  numel?: number;
  offset?: number;
  stride?: number[];
  key?: string;
}

const ITEM: Record<string, number> = { FloatStorage: 4, HalfStorage: 2, BFloat16Storage: 2, DoubleStorage: 8, LongStorage: 8 };

function denseStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** The state-dict pickle torch.save writes: an OrderedDict of _rebuild_tensor_v2 calls. */
export function stateDictPickle(specs: PthTensorSpec[], wrap: string | null = 'model'): Uint8Array {
  const p = new PickleWriter().proto(2);
  if (wrap) p.op(0x7d).mark().str(wrap);
  p.global('collections', 'OrderedDict').op(0x29, 0x52).mark();
  specs.forEach((t, i) => {
    const type = t.storageType ?? 'FloatStorage';
    const numel = t.numel ?? t.record.length / (ITEM[type] ?? 1);
    p.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark()
      .mark().str('storage').global('torch', type).str(t.key ?? String(i)).str('cpu').int(numel).tuple().op(0x51)
      .int(t.offset ?? 0).ints(t.shape).ints(t.stride ?? denseStrides(t.shape)).op(0x89)
      .global('collections', 'OrderedDict').op(0x29, 0x52).tuple().op(0x52);
  });
  p.op(0x75);
  if (wrap) p.op(0x75);
  return p.stop().bytes();
}

/** A torch.save-style zip: <stem>/data.pkl, one record per storage key, <stem>/version. */
export function buildPth(specs: PthTensorSpec[], opts: { stem?: string; wrap?: string | null; pickle?: Uint8Array;
  extra?: ZipInput[] } = {}): Uint8Array {
  const stem = opts.stem ?? 'archive';
  const entries: ZipInput[] = [{ name: `${stem}/data.pkl`, data: opts.pickle ?? stateDictPickle(specs, opts.wrap ?? 'model') }];
  const seen = new Set<string>();
  specs.forEach((t, i) => {
    const key = t.key ?? String(i);
    if (seen.has(key)) return;
    seen.add(key);
    entries.push({ name: `${stem}/data/${key}`, data: t.record });
  });
  entries.push({ name: `${stem}/version`, data: new TextEncoder().encode('3\n') }, ...(opts.extra ?? []));
  return writeZip(entries, { zip64: true }).bytes;
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function fixtureBytes(name: string): Uint8Array {
  return Uint8Array.from(readFileSync(fixturePath(name)));
}

/** A buffer source that records every range it serves. */
export function countingSource(name: string, bytes: Uint8Array): RandomAccessSource & { bytesRead: number; reads: Array<[number, number]> } {
  const inner = bufferSource(name, bytes);
  const src = {
    name, size: inner.size, bytesRead: 0, reads: [] as Array<[number, number]>,
    read(offset: number, length: number) {
      src.bytesRead += length;
      src.reads.push([offset, length]);
      return inner.read(offset, length);
    },
  };
  return src;
}

/** Runs `fn` and returns the error it throws (failing if it does not). */
export async function rejection(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}
