// Fuzz target: safetensors files through loadVimWeights. Seeds: the minute Vim
// in F32 / F16 / BF16 and the tiny fixture model re-stored as safetensors.
// Mutations aim at the 8-byte header length, the JSON header (lying dtypes,
// shapes, offsets, overlaps, hostile JSON) and the data (bit flips, NaN/Inf).
import { loadVimWeights, readStateDict, writeSafetensors, type SafetensorsEntry } from '../../../src/weights/index.js';
import { bufferSource } from '../../../src/weights/source.js';
import type { StateDict } from '../../../src/tensor.js';
import type { FuzzCase, RunStats, Target } from '../harness.js';
import { boundaryCut, concat, flipBits, lie64, lieCount, randomFile, setU64, smashBytes, splice, truncate } from '../mutate.js';
import { readRepoFile } from '../paths.js';
import type { Rng } from '../rng.js';
import { countingSource } from '../source.js';
import { miniStateDict } from './mini-vim.js';

interface Seed { bytes: Uint8Array; headerLength: number; header: Record<string, unknown>; boundaries: number[] }
let seeds: Seed[] = [];

function entries(sd: StateDict, dtype: SafetensorsEntry['dtype']): SafetensorsEntry[] {
  return [...sd].map(([name, t]) => ({ name, dtype, shape: t.shape, data: t.data }));
}

function seed(bytes: Uint8Array): Seed {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  const boundaries = [0, 8, 8 + headerLength, bytes.length];
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const [b, e] = (v as { data_offsets: number[] }).data_offsets;
    boundaries.push(8 + headerLength + b, 8 + headerLength + e);
  }
  return { bytes, headerLength, header, boundaries };
}

/** Header JSON + the seed's data area; `lyingLength` keeps a header length that no longer fits. */
function withHeader(s: Seed, header: unknown, opts: { text?: string; lyingLength?: bigint } = {}): Uint8Array {
  const json = new TextEncoder().encode(opts.text ?? JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, opts.lyingLength ?? BigInt(json.length), true);
  return concat(len, json, s.bytes.subarray(8 + s.headerLength));
}

const DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'F8_E4M3', 'C64', '', 'f32', 'F32 ', 7, null];

/** One entry of the header made to lie about one thing. */
function lieEntry(rng: Rng, s: Seed): Record<string, unknown> {
  const header = structuredClone(s.header) as Record<string, Record<string, unknown>>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = rng.pick(names), e = header[name];
  const offsets = e.data_offsets as number[], shape = e.shape as number[];
  switch (rng.int(9)) {
    case 0: e.dtype = rng.pick(DTYPES); break;
    case 1: e.shape = shape.map((d) => (rng.chance(0.5) ? lieCount(rng) : d)); break;
    case 2: e.shape = rng.pick([[], [0], [...shape, 1], shape.slice(1), new Array(17).fill(1), ['8'], [[8]], [-8], [2.5], null, 'x']); break;
    case 3: e.data_offsets = [offsets[0], offsets[1] + rng.pick([-4, -1, 1, 4, 2 ** 31, 2 ** 53])]; break;
    case 4: e.data_offsets = rng.pick([[offsets[1], offsets[0]], [0, 0], [offsets[0]], [offsets[0], offsets[1], 0], [-4, offsets[1]], ['0', '4'], null, [1e308, 1e308]]); break;
    case 5: {
      // Overlap a neighbour: same range as another tensor of the same size, or straddling it.
      const other = header[rng.pick(names)].data_offsets as number[];
      e.data_offsets = rng.chance(0.5) ? [...other] : [other[0] + 1, other[0] + 1 + offsets[1] - offsets[0]];
      break;
    }
    case 6: e[rng.pick(['extra', 'Dtype', '__proto__', 'constructor'])] = 1; break;
    case 7: delete e[rng.pick(['dtype', 'shape', 'data_offsets'])]; break;
    default: header[name] = rng.pick([null, [], 'F32', 3, { dtype: 'F32' }]) as never;
  }
  return header;
}

/** Header-level oddities: metadata, special keys, renamed or extra tensors. */
function lieHeader(rng: Rng, s: Seed): unknown {
  const header = structuredClone(s.header) as Record<string, unknown>;
  switch (rng.int(6)) {
    case 0: header.__metadata__ = rng.pick([{ format: 'pt' }, { a: 1 }, [], 'x', null, { nested: { a: 'b' } }]); break;
    case 1: header[rng.pick(['__proto__', 'constructor', 'toString', '', 'hasOwnProperty'])] = { dtype: 'F32', shape: [1], data_offsets: [0, 4] }; break;
    case 2: { const k = rng.pick(Object.keys(header)); header[`${k}.copy`] = header[k]; break; }
    case 3: { const k = rng.pick(Object.keys(header)); delete header[k]; break; }
    case 4: return rng.pick([[], null, 'weights', 42, [header]]);
    default: header.big = { dtype: 'F32', shape: [2 ** 20, 2 ** 20], data_offsets: [0, 2 ** 42] };
  }
  return header;
}

/** Hostile JSON text: deep nesting, huge numbers, BOM, NULs, duplicate keys, broken UTF-8. */
function hostileJson(rng: Rng, s: Seed): Uint8Array {
  const text = JSON.stringify(s.header);
  const depth = rng.pick([100, 10_000, 200_000]);
  const variants = [
    () => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    () => `{"a":${'{"b":'.repeat(depth)}1${'}'.repeat(depth)}}`,
    () => text.replace(/\d+/, '1e400'),
    () => `\ufeff${text}`,
    () => text.replace('{', '{\u0000'),
    () => text.replace(/^\{("[^"]+":\{[^}]*\})/, '{$1,$1'),       // the first key twice
    () => `${text}${' '.repeat(rng.int(64))}`,
    () => text.slice(0, rng.int(text.length)),
  ];
  if (rng.chance(0.15)) {
    // Invalid UTF-8 inside a key.
    const bytes = new TextEncoder().encode(text);
    bytes[2] = rng.pick([0xff, 0xc3, 0xe2, 0x80]);
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(bytes.length), true);
    return concat(len, bytes, s.bytes.subarray(8 + s.headerLength));
  }
  return withHeader(s, null, { text: rng.pick(variants)() });
}

function nonFinite(rng: Rng): Uint8Array {
  const sd = miniStateDict();
  const t = sd.get(rng.pick([...sd.keys()]))!;
  t.data[rng.int(t.data.length)] = rng.pick([NaN, Infinity, -Infinity]);
  return writeSafetensors(entries(sd, rng.pick(['F32', 'F16', 'BF16'] as const)));
}

function harmless(rng: Rng): Uint8Array {
  const sd = miniStateDict(rng.int(100));
  const list = entries(sd, rng.pick(['F32', 'F16', 'BF16'] as const));
  // Data order need not follow the state dict's order.
  if (rng.chance(0.5)) list.reverse();
  return writeSafetensors(list, rng.chance(0.5) ? { format: 'pt', note: 'x'.repeat(rng.int(100)) } : undefined);
}

function generate(rng: Rng): FuzzCase {
  const s = rng.weighted([[5, seeds[0]], [2, seeds[1]], [2, seeds[2]], [1, seeds[3]]]);
  const dataStart = 8 + s.headerLength;
  const kind = rng.weighted<string>([[4, 'random'], [8, 'truncate'], [6, 'bitflip'], [8, 'bitflip-header'], [5, 'bitflip-data'], [3, 'smash'],
    [3, 'splice'], [8, 'lie-length'], [16, 'lie-entry'], [8, 'lie-header'], [8, 'hostile-json'], [4, 'nan-inf'], [4, 'harmless']]);
  switch (kind) {
    case 'random': return { kind, bytes: randomFile(rng, rng.pick([new Uint8Array([0x40, 0, 0, 0, 0, 0, 0, 0, 0x7b]), new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0])])) };
    case 'truncate': return { kind, bytes: truncate(s.bytes, boundaryCut(rng, s.boundaries, s.bytes.length)) };
    case 'bitflip': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 16)) };
    case 'bitflip-header': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 3), 0, dataStart) };
    case 'bitflip-data': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 8), dataStart) };
    case 'smash': return { kind, bytes: smashBytes(rng, s.bytes, rng.range(1, 4)) };
    case 'splice': return { kind, bytes: splice(rng, s.bytes) };
    case 'lie-length': return { kind, bytes: setU64(s.bytes, 0, lie64(rng, s.bytes.length, BigInt(s.headerLength))) };
    case 'lie-entry': return { kind, bytes: withHeader(s, lieEntry(rng, s)) };
    case 'lie-header': return { kind, bytes: withHeader(s, lieHeader(rng, s)) };
    case 'hostile-json': return { kind, bytes: hostileJson(rng, s) };
    case 'nan-inf': return { kind, bytes: nonFinite(rng) };
    default: return { kind, bytes: harmless(rng) };
  }
}

export const safetensorsTarget: Target = {
  name: 'safetensors',
  bounds: 'largest allocation <= 8 x file size + 1 MiB; bytes read <= 2 x file size + 128 KiB',
  async prepare() {
    if (seeds.length) return;
    const tiny = await readStateDict(bufferSource('tiny.pth', readRepoFile('test', 'fixtures', 'vim', 'tiny.pth')));
    seeds = [
      seed(writeSafetensors(entries(miniStateDict(), 'F32'))),
      seed(writeSafetensors(entries(miniStateDict(), 'F16'), { format: 'pt' })),
      seed(writeSafetensors(entries(miniStateDict(), 'BF16'))),
      seed(writeSafetensors(tiny)),
    ];
  },
  generate,
  async run(bytes, stats: RunStats) {
    await loadVimWeights(countingSource('fuzz.safetensors', bytes, stats));
  },
  allocBound: (bytes) => 8 * bytes.length + (1 << 20),
  readBound: (bytes) => 2 * bytes.length + (128 << 10),
};
