// Fuzz target: the engine's own format (vim-webgpu v1: safetensors with a
// checked __metadata__ and per-tensor sha256) through readVimFileHeader +
// readVimFileStateDict + validateFinite, the host path the converter and the
// CPU engine use (the GPU streaming loader shares parseVimFileHeader and is
// covered by the 'vimw-stream' target). Seeds: the minute Vim converted to f32,
// f16 and int8. Data mutations are re-hashed half the time, so they reach the
// decoders and the numerics guard instead of stopping at the sha256 check.
import { validateFinite } from '../../../src/weights/finite.js';
import { convertWeights } from '../../../src/weights/convert.js';
import { concatVimFile } from '../../../src/weights/format-write.js';
import { readVimFileHeader, readVimFileStateDict } from '../../../src/weights/format-read.js';
import { writeSafetensors } from '../../../src/weights/safetensors.js';
import { sha256Hex } from '../../../src/weights/sha256.js';
import { bufferSource } from '../../../src/weights/source.js';
import type { FuzzCase, RunStats, Target } from '../harness.js';
import { boundaryCut, concat, flipBits, lie64, lieCount, randomFile, setU64, smashBytes, splice, truncate } from '../mutate.js';
import type { Rng } from '../rng.js';
import { countingSource } from '../source.js';
import { miniStateDict } from './mini-vim.js';

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> & { __metadata__: Record<string, string> };
export interface VimwSeed { bytes: Uint8Array; headerLength: number; header: Header; boundaries: number[] }
let seeds: VimwSeed[] = [];

function seed(bytes: Uint8Array): VimwSeed {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Header;
  const boundaries = [0, 8, 8 + headerLength, bytes.length];
  for (const k of names(header)) boundaries.push(8 + headerLength + header[k].data_offsets[0]);
  return { bytes, headerLength, header, boundaries };
}

/** The file with a new header (its length field rewritten) over the given data section. */
function assemble(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  return concat(len, json, data);
}

const dataOf = (s: VimwSeed) => s.bytes.subarray(8 + s.headerLength);
const names = (h: Header) => Object.keys(h).filter((k) => k !== '__metadata__');

/** Changes bytes of one entry and, if asked, rewrites its sha256 so the change gets past the hash check. */
function dataEdit(rng: Rng, s: VimwSeed, rehash: boolean): Uint8Array {
  const header = structuredClone(s.header);
  const data = dataOf(s).slice();
  const name = rng.pick(names(header));
  const [b, e] = header[name].data_offsets;
  if (e <= b) return s.bytes;
  const dtype = header[name].dtype;
  if (dtype === 'F32' && rng.chance(0.6)) {
    new DataView(data.buffer).setFloat32(b + 4 * rng.int((e - b) / 4), rng.pick([NaN, Infinity, -Infinity, 3e38, -0]), true);
  } else if (dtype === 'F16' && rng.chance(0.6)) {
    new DataView(data.buffer).setUint16(b + 2 * rng.int((e - b) / 2), rng.pick([0x7c00, 0xfc00, 0x7e00, 0x7bff]), true);
  } else {
    for (let i = rng.range(1, 4); i > 0; i--) data[b + rng.int(e - b)] ^= 1 << rng.int(8);
  }
  if (rehash) {
    const hashes = JSON.parse(header.__metadata__.sha256) as Record<string, string>;
    hashes[name] = sha256Hex(data.subarray(b, e));
    header.__metadata__.sha256 = JSON.stringify(hashes);
  }
  return assemble(header, data);
}

/** One metadata field made to lie: format, version, dtype, config, quantization, hashes. */
function lieMetadata(rng: Rng, s: VimwSeed): Uint8Array {
  const header = structuredClone(s.header);
  const m = header.__metadata__;
  const key = rng.pick(['format', 'format_version', 'dtype', 'config', 'quantization', 'sha256', 'source']);
  if (key === 'config') {
    const c = JSON.parse(m.config) as Record<string, unknown>;
    c[rng.pick(Object.keys(c))] = rng.pick([0, -1, 1e9, null, 'x', 1e-5, 2 ** 31, NaN]);
    m.config = rng.chance(0.9) ? JSON.stringify(c) : '{';
  } else if (key === 'quantization' || key === 'sha256') {
    const v = JSON.parse(m[key]) as Record<string, unknown>;
    const k = rng.pick(Object.keys(v).length ? Object.keys(v) : ['x']);
    if (rng.chance(0.5)) delete v[k]; else v[rng.chance(0.5) ? k : 'no.such.tensor'] = rng.pick(['0'.repeat(64), 'zz', { storage: 'i8' }, { storage: 'f16' }, null, 7]);
    m[key] = rng.chance(0.9) ? JSON.stringify(v) : '[';
  } else if (rng.chance(0.3)) {
    delete (m as Record<string, unknown>)[key];
  } else {
    (m as Record<string, unknown>)[key] = rng.pick(['vim-webgpu', '1', '2', 'f32', 'f16', 'int8', 'i4', '', 7, null, { a: 1 }]);
  }
  return assemble(header, dataOf(s));
}

/** One entry made to lie: dtype, shape, offsets (overlap, gap, past the end), pad and scale rules. */
function lieEntry(rng: Rng, s: VimwSeed): Uint8Array {
  const header = structuredClone(s.header) as Record<string, Record<string, unknown>>;
  const all = names(s.header);
  const name = rng.pick(all), e = header[name];
  const [b, end] = e.data_offsets as number[];
  switch (rng.int(7)) {
    case 0: e.dtype = rng.pick(['F32', 'F16', 'I8', 'U8', 'BF16', 'F64', '', null]); break;
    case 1: e.shape = (e.shape as number[]).map((d) => (rng.chance(0.5) ? lieCount(rng) : d)); break;
    case 2: e.shape = rng.pick([[], [0], new Array(9).fill(1), [2 ** 31 + 1], [-1], ['4']]); break;
    case 3: e.data_offsets = rng.pick([[b + 1, end + 1], [b, end + 16], [0, end - b], [end, b], [b, 2 ** 30 + 1], [b], [2 ** 53, 2 ** 53]]); break;
    case 4: { const other = header[rng.pick(all)]; e.data_offsets = other.data_offsets; break; }
    case 5: delete header[name]; break;
    default: header[`${rng.pick(['__pad__.', '', 'layers.0.mixer.in_proj.weight'])}${rng.pick(['x', '.scale', '99'])}`] = { dtype: rng.pick(['U8', 'F32']), shape: [rng.pick([1, 15, 16])], data_offsets: [end, end + 16] };
  }
  return assemble(header, dataOf(s));
}

function generate(rng: Rng): FuzzCase {
  const s = rng.pick(seeds);
  const kind = rng.weighted<string>([[3, 'random'], [8, 'truncate'], [5, 'bitflip'], [6, 'bitflip-header'], [3, 'smash'], [3, 'splice'],
    [6, 'lie-length'], [12, 'lie-metadata'], [14, 'lie-entry'], [6, 'data-edit'], [10, 'data-edit-rehashed'], [4, 'harmless']]);
  switch (kind) {
    case 'random': return { kind, bytes: randomFile(rng, new Uint8Array([0x40, 0, 0, 0, 0, 0, 0, 0, 0x7b])) };
    case 'truncate': return { kind, bytes: truncate(s.bytes, boundaryCut(rng, s.boundaries, s.bytes.length)) };
    case 'bitflip': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 8)) };
    case 'bitflip-header': return { kind, bytes: flipBits(rng, s.bytes, rng.range(1, 3), 0, 8 + s.headerLength) };
    case 'smash': return { kind, bytes: smashBytes(rng, s.bytes, rng.range(1, 3)) };
    case 'splice': return { kind, bytes: splice(rng, s.bytes) };
    case 'lie-length': return { kind, bytes: setU64(s.bytes, 0, lie64(rng, s.bytes.length, BigInt(s.headerLength))) };
    case 'lie-metadata': return { kind, bytes: lieMetadata(rng, s) };
    case 'lie-entry': return { kind, bytes: lieEntry(rng, s) };
    case 'data-edit': return { kind, bytes: dataEdit(rng, s, false) };
    case 'data-edit-rehashed': return { kind, bytes: dataEdit(rng, s, true) };
    // Re-serialised without the writer's padding: still a valid file.
    default: return { kind, bytes: assemble(s.header, dataOf(s)) };
  }
}

/** The seeds, shared with the streaming target. */
export async function vimwSeeds(): Promise<VimwSeed[]> {
  if (!seeds.length) {
    const st = writeSafetensors(miniStateDict());
    for (const dtype of ['f32', 'f16', 'int8'] as const) {
      const file = await convertWeights(bufferSource('mini.safetensors', st), { dtype });
      seeds.push(seed(concatVimFile(file)));
    }
  }
  return seeds;
}

export function vimwGenerate(rng: Rng): FuzzCase {
  return generate(rng);
}

export const vimwTarget: Target = {
  name: 'vimw',
  bounds: 'largest allocation <= 8 x file size + 1 MiB; bytes read <= 2 x file size + 128 KiB',
  async prepare() { await vimwSeeds(); },
  generate,
  async run(bytes, stats: RunStats) {
    const src = countingSource('fuzz.vimw', bytes, stats);
    const header = await readVimFileHeader(src);
    validateFinite(await readVimFileStateDict(src, header), src.name);
  },
  allocBound: (bytes) => 8 * bytes.length + (1 << 20),
  readBound: (bytes) => 2 * bytes.length + (128 << 10),
};
