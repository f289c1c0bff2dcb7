// Fuzz target: PyTorch checkpoints (zip + restricted pickle) through
// loadVimWeights, the path a model takes from a dropped .pth file.
//
// Seeds: the tiny fixture checkpoint, the full training checkpoint (optimizer,
// EMA copy, argparse args), and a minute Vim stored as float32 / float16 /
// bfloat16 / float64. Mutations aim at zip structures (boundaries, fields,
// overlaps, gigabyte claims), at the pickle (opcode-level edits, hostile
// programs) and at the tensors (lying shapes, NaN/Inf values).
import { loadVimWeights } from '../../../src/weights/index.js';
import { stateDictPickle } from '../../../test/weights-helpers.js';
import type { FuzzCase, RunStats, Target } from '../harness.js';
import { boundaryCut, flipBits, lie32, lie64, lieCount, randomFile, setU16, setU32, setU64, smashBytes, splice, truncate } from '../mutate.js';
import { readRepoFile } from '../paths.js';
import { countingSource } from '../source.js';
import type { Rng } from '../rng.js';
import { miniStateDict, pthSpecs, type StorageType } from './mini-vim.js';
import { hostilePickle, mutatePickle, type StorageSpec } from './pickle-ops.js';
import { buildZip, scanZip, zipBoundaries, zipEntries, zipFields, type ZipEntryInput, type ZipLayout } from './zip-build.js';

interface Seed { name: string; bytes: Uint8Array; layout: ZipLayout; entries: ZipEntryInput[]; pickleIndex: number }

let seeds: Seed[] = [];
let storages: StorageSpec[] = [];

function seed(name: string, bytes: Uint8Array): Seed {
  const entries = zipEntries(bytes);
  return { name, bytes, layout: scanZip(bytes), entries, pickleIndex: entries.findIndex((e) => e.name.endsWith('/data.pkl')) };
}

function miniPth(type: StorageType, wrap: string | null = 'model', stem = 'mini'): Uint8Array {
  const specs = pthSpecs(miniStateDict(), type);
  const entries: ZipEntryInput[] = [{ name: `${stem}/data.pkl`, data: stateDictPickle(specs, wrap) }];
  for (const s of specs) entries.push({ name: `${stem}/data/${s.key}`, data: s.record });
  entries.push({ name: `${stem}/version`, data: new TextEncoder().encode('3\n') });
  return buildZip(entries);
}

/** Rebuilds a seed's archive with its data.pkl replaced (CRC recomputed, so the pickle itself is what is tested). */
function withPickle(s: Seed, pkl: Uint8Array): Uint8Array {
  return buildZip(s.entries.map((e, i) => (i === s.pickleIndex ? { ...e, data: pkl } : e)));
}

function lyingField(rng: Rng, s: Seed): Uint8Array {
  const [at, width] = rng.pick(zipFields(s.layout));
  const dv = new DataView(s.bytes.buffer, s.bytes.byteOffset);
  if (width === 8) return setU64(s.bytes, at, lie64(rng, s.bytes.length, dv.getBigUint64(at, true)));
  if (width === 4) return setU32(s.bytes, at, lie32(rng, s.bytes.length, dv.getUint32(at, true)));
  return setU16(s.bytes, at, lie32(rng, s.bytes.length, dv.getUint16(at, true)));
}

/** Entries that share bytes: one entry's local header offset moved onto (or into) another's. */
function overlap(rng: Rng, s: Seed): Uint8Array {
  const l = s.layout;
  const i = rng.int(l.centrals.length), j = rng.int(l.centrals.length);
  const target = l.locals[j] + rng.pick([0, 1, 30, l.dataStarts[j] - l.locals[j]]);
  const entries = s.entries.map((e, k) => (k === i ? { ...e, claimOffset: BigInt(target) } : e));
  return buildZip(entries);
}

/** An entry claiming a huge size (through zip64), or the pickle claiming a huge storage. */
function gigabyteClaim(rng: Rng, s: Seed): Uint8Array {
  const i = rng.int(s.entries.length);
  const size = rng.pick([1n << 30n, 1n << 32n, 1n << 40n, (1n << 53n) - 1n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n]);
  return buildZip(s.entries.map((e, k) => (k === i ? { ...e, claimSize: size } : e)));
}

/** The mini model with one tensor's spec lying about its shape, stride, offset or storage. */
function tensorLie(rng: Rng): Uint8Array {
  const specs = pthSpecs(miniStateDict(), 'FloatStorage');
  const t = rng.int(specs.length);
  const s = { ...specs[t] };
  const which = rng.int(5);
  if (which === 0) s.shape = s.shape.map((d) => (rng.chance(0.5) ? lieCount(rng) : d)).filter((d) => Number.isSafeInteger(d) && d >= 0);
  if (which === 1) s.stride = s.shape.map(() => rng.pick([0, 1, 2, 1000, 2 ** 31 - 1]));
  if (which === 2) s.offset = rng.pick([1, 2, 1000, 2 ** 31 - 1]);
  if (which === 3) s.numel = rng.pick([0, 1, 2 ** 31 - 1, (s.record.length / 4) + 1]);
  if (which === 4) s.key = rng.pick(['0', '1', 'missing', '../0']);
  specs[t] = s;
  const entries: ZipEntryInput[] = [{ name: 'mini/data.pkl', data: stateDictPickle(specs) }];
  const seen = new Set<string>();
  specs.forEach((sp, i) => {
    const key = sp.key ?? String(i);
    if (!seen.has(key)) { seen.add(key); entries.push({ name: `mini/data/${key}`, data: sp.record }); }
  });
  return buildZip(entries);
}

/**
 * Consistent shapes backed by almost nothing: head.weight (C, D) and head.bias (C,)
 * as stride-0 views of a few floats, so a tiny file describes a huge classifier.
 */
function broadcast(rng: Rng): Uint8Array {
  const C = rng.pick([1000, 100_000, 1_000_000, 100_000_000, 2 ** 31, 2 ** 40]);
  const specs = pthSpecs(miniStateDict(), 'FloatStorage').map((sp) => {
    if (sp.name === 'head.weight') return { ...sp, shape: [C, 8], stride: [0, 1], record: sp.record.slice(0, 32) };
    if (sp.name === 'head.bias') return { ...sp, shape: [C], stride: [0], record: sp.record.slice(0, 4) };
    return sp;
  });
  return buildZip([{ name: 'b/data.pkl', data: stateDictPickle(specs) }, ...specs.map((sp) => ({ name: `b/data/${sp.key}`, data: sp.record }))]);
}

/** NaN or ±Infinity written into a tensor of an otherwise valid checkpoint. */
function nonFinite(rng: Rng): Uint8Array {
  const sd = miniStateDict();
  const names = [...sd.keys()];
  const t = sd.get(rng.pick(names))!;
  t.data[rng.int(t.data.length)] = rng.pick([NaN, Infinity, -Infinity]);
  const type = rng.pick(['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage'] as const);
  const specs = pthSpecs(sd, type);
  return buildZip([{ name: 'm/data.pkl', data: stateDictPickle(specs) }, ...specs.map((s) => ({ name: `m/data/${s.key}`, data: s.record }))]);
}

/** Valid variations a reader must accept: other stems, extra records, byteorder, bare or 'state_dict' dicts. */
function harmless(rng: Rng): Uint8Array {
  const stem = rng.pick(['archive', 'vim_t_midclstok_76p1acc', 'x']);
  const wrap = rng.pick(['model', 'state_dict', null]);
  const base = zipEntries(miniPth(rng.pick(['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage'] as const), wrap, stem));
  if (rng.chance(0.5)) base.push({ name: `${stem}/byteorder`, data: new TextEncoder().encode('little') });
  if (rng.chance(0.5)) base.push({ name: `${stem}/.data/serialization_id`, data: rng.bytes(rng.int(40)) });
  // Entry order in the archive does not matter.
  if (rng.chance(0.5)) base.reverse();
  return buildZip(base);
}

function generate(rng: Rng): FuzzCase {
  const s = rng.weighted([[3, seeds[0]], [1, seeds[1]], [6, seeds[2]], [2, seeds[3]], [1, seeds[4]]]);
  const l = s.layout;
  const kind = rng.weighted<string>([[4, 'random'], [8, 'truncate'], [6, 'bitflip'], [8, 'bitflip-meta'], [4, 'smash'], [4, 'splice'],
    [12, 'lie-zip'], [5, 'overlap'], [5, 'gigabyte'], [12, 'pickle-mutate'], [16, 'pickle-hostile'], [8, 'tensor-lie'], [3, 'broadcast'], [4, 'nan-inf'], [4, 'harmless']]);
  switch (kind) {
    case 'random': return { kind, bytes: randomFile(rng, new Uint8Array([0x50, 0x4b, 0x03, 0x04])) };
    case 'truncate': return { kind, bytes: truncate(s.bytes, boundaryCut(rng, zipBoundaries(l), s.bytes.length)) };
    case 'bitflip': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 16)) };
    case 'bitflip-meta': {
      // Only the metadata: local headers, the central directory and the end records.
      const region = rng.int(3);
      if (region === 0) return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 4), l.centralStart) };
      const i = rng.int(l.locals.length);
      if (region === 1) return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 3), l.locals[i], l.dataStarts[i]) };
      return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 3), l.zip64End >= 0 ? l.zip64End : l.eocd) };
    }
    case 'smash': return { kind, bytes: smashBytes(rng, s.bytes, rng.range(1, 4)) };
    case 'splice': return { kind, bytes: splice(rng, s.bytes) };
    case 'lie-zip': return { kind, bytes: lyingField(rng, s) };
    case 'overlap': return { kind, bytes: overlap(rng, s) };
    case 'gigabyte': return { kind, bytes: gigabyteClaim(rng, s) };
    case 'pickle-mutate': {
      const m = mutatePickle(rng, s.entries[s.pickleIndex].data);
      return { kind: m.kind, bytes: withPickle(s, m.bytes) };
    }
    case 'pickle-hostile': {
      const mini = seeds[2];
      const h = hostilePickle(rng, storages);
      return { kind: h.kind, bytes: withPickle(mini, h.bytes) };
    }
    case 'tensor-lie': return { kind, bytes: tensorLie(rng) };
    case 'broadcast': return { kind, bytes: broadcast(rng) };
    case 'nan-inf': return { kind, bytes: nonFinite(rng) };
    default: return { kind, bytes: harmless(rng) };
  }
}

export const pthTarget: Target = {
  name: 'pth',
  bounds: 'largest allocation <= 8 x file size + 1 MiB; bytes read <= 2 x file size + 128 KiB',
  async prepare() {
    if (seeds.length) return;
    seeds = [
      seed('tiny.pth', readRepoFile('test', 'fixtures', 'vim', 'tiny.pth')),
      seed('tiny_full_checkpoint.pth', readRepoFile('test', 'fixtures', 'vim', 'tiny_full_checkpoint.pth')),
      seed('mini-f32', miniPth('FloatStorage')),
      seed('mini-f16', miniPth('HalfStorage')),
      seed('mini-bf16', miniPth('BFloat16Storage', 'state_dict')),
    ];
    storages = pthSpecs(miniStateDict()).map((s) => ({ key: s.key!, numel: s.record.length / 4, type: 'FloatStorage' }));
  },
  generate,
  async run(bytes, stats: RunStats) {
    const src = countingSource('fuzz.pth', bytes, stats);
    await loadVimWeights(src);
  },
  allocBound: (bytes) => 8 * bytes.length + (1 << 20),
  readBound: (bytes) => 2 * bytes.length + (128 << 10),
};
