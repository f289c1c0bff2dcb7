// Pickle-level tools for the .pth fuzzer: an opcode walker (to cut and mutate at
// real opcode boundaries) and a library of hostile pickles, each aimed at one
// promise of the restricted unpickler: bounded nesting, memo and stack; cycles
// that must not hang; allow-listed globals only; every size checked.
import { PickleWriter } from '../../../test/weights-helpers.js';
import type { Rng } from '../rng.js';
import { lieCount } from '../mutate.js';

/** Argument length of an opcode at `at` (after the opcode byte), or -1 if unknown. */
function argLength(b: Uint8Array, at: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const op = b[at], p = at + 1;
  const need = (n: number) => (p + n <= b.length ? n : -1);
  switch (op) {
    case 0x80: case 0x4b: case 0x71: case 0x68: return need(1);
    case 0x4d: return need(2);
    case 0x4a: case 0x72: case 0x6a: return need(4);
    case 0x47: case 0x95: return need(8);
    case 0x8c: case 0x55: case 0x43: case 0x8a: return p < b.length ? 1 + b[p] : -1;
    case 0x58: case 0x54: case 0x42: case 0x8b: return p + 4 <= b.length ? 4 + dv.getUint32(p, true) : -1;
    case 0x8d: case 0x8e: return p + 8 <= b.length ? 8 + Number(dv.getBigUint64(p, true)) : -1;
    case 0x63: {
      const first = b.indexOf(0x0a, p), second = first < 0 ? -1 : b.indexOf(0x0a, first + 1);
      return second < 0 ? -1 : second + 1 - p;
    }
    default:
      // Argument-less opcodes the unpickler knows.
      return [0x28, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x7d, 0x5d, 0x29, 0x85, 0x86, 0x87, 0x74, 0x6c, 0x64, 0x61, 0x65,
        0x73, 0x75, 0x94, 0x93, 0x52, 0x81, 0x62, 0x51, 0x2e].includes(op) ? 0 : -1;
  }
}

/** Start offset of every opcode, in order (stops at the first it cannot walk past). */
export function opcodeOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at < b.length;) {
    out.push(at);
    const n = argLength(b, at);
    if (n < 0) break;
    at += 1 + n;
  }
  return out;
}

const OPCODES_NO_ARG = [0x28, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x7d, 0x5d, 0x29, 0x85, 0x86, 0x87, 0x74, 0x6c, 0x64,
  0x61, 0x65, 0x73, 0x75, 0x94, 0x93, 0x52, 0x81, 0x62, 0x51, 0x2e];

/** One random opcode with a plausible (or lying) argument. */
export function randomOpcode(rng: Rng): number[] {
  const r = rng.int(10);
  if (r < 5) return [rng.pick(OPCODES_NO_ARG)];
  if (r === 5) return [rng.pick([0x4b, 0x71, 0x68, 0x80]), rng.int(256)];
  if (r === 6) return [rng.pick([0x4a, 0x72, 0x6a]), ...u32(rng.chance(0.5) ? rng.int(8) : rng.u32())];
  if (r === 7) { const s = rng.bytes(rng.int(12)); return [0x8c, s.length, ...s]; }
  if (r === 8) return [0x63, ...ascii(`${rng.pick(['collections', 'torch._utils', 'torch', 'os', 'builtins'])}\n${rng.pick(['OrderedDict', '_rebuild_tensor_v2', 'FloatStorage', 'system', 'eval'])}\n`)];
  return [rng.int(256)];
}

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: bigint) => Array.from({ length: 8 }, (_, i) => Number((BigInt.asUintN(64, n) >> BigInt(8 * i)) & 0xffn));
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Python int as pickle: small ints through PickleWriter, others as LONG1 (any size, any sign). */
function pyInt(p: PickleWriter, v: number | bigint): PickleWriter {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 31) return p.int(v);
  if (typeof v === 'number' && !Number.isInteger(v)) return p.float(v);
  let x = BigInt(v);
  const out: number[] = [];
  do { out.push(Number(x & 0xffn)); x >>= 8n; } while (x !== 0n && x !== -1n);
  if ((out[out.length - 1] & 0x80) !== (x < 0n ? 0x80 : 0)) out.push(x < 0n ? 0xff : 0);
  return p.op(0x8a, out.length, ...out);
}

export interface StorageSpec { key: string; numel: number; type: string }

/** A tensor rebuild call: ('storage', type, key, 'cpu', numel) viewed with (offset, shape, stride). */
function rebuild(p: PickleWriter, s: StorageSpec, offset: number | bigint, shape: Array<number | bigint>, stride: Array<number | bigint>): PickleWriter {
  p.global('torch._utils', '_rebuild_tensor_v2').mark()
    .mark().str('storage').global('torch', s.type).str(s.key).str('cpu');
  pyInt(p, s.numel).tuple().op(0x51);
  pyInt(p, offset).mark();
  shape.forEach((d) => pyInt(p, d));
  p.tuple().mark();
  stride.forEach((d) => pyInt(p, d));
  return p.tuple().op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).tuple().op(0x52);
}

const UNSAFE = [['os', 'system'], ['posix', 'system'], ['nt', 'system'], ['builtins', 'eval'], ['builtins', 'exec'],
  ['__builtin__', 'eval'], ['builtins', 'getattr'], ['subprocess', 'Popen'], ['torch', 'load'], ['torch.storage', '_load_from_bytes'],
  ['numpy.core.multiarray', '_reconstruct'], ['webbrowser', 'open'], ['collections', 'defaultdict'], ['torch._utils', '_rebuild_tensor']];

/**
 * A hostile data.pkl. `storages` are records the surrounding zip really holds,
 * so tensor-level lies get past the zip layer and reach the pickle checks.
 */
export function hostilePickle(rng: Rng, storages: StorageSpec[]): { kind: string; bytes: Uint8Array } {
  const p = new PickleWriter().proto(2);
  const n = rng.pick([10, 999, 1000, 1001, 5000, 100_000, 300_000]);
  const kind = rng.pick(['deep-mark', 'deep-list', 'deep-tuple', 'deep-dict', 'memo-self-list', 'memo-self-dict', 'memo-missing',
    'memo-flood', 'wide-appends', 'wide-setitems', 'wide-tuple', 'unsafe-global', 'stack-global', 'reduce-junk', 'persid-lies',
    'tensor-dims', 'bad-ints', 'bad-strings', 'frame-proto', 'global-line', 'random-ops'] as const);
  const model = () => p.op(0x7d).str('model');  // {'model': <value>} around what follows
  switch (kind) {
    case 'deep-mark': for (let i = 0; i < n; i++) p.mark(); break;
    case 'deep-list': model(); for (let i = 0; i < n; i++) p.op(0x5d); for (let i = 1; i < n; i++) p.op(0x61); p.op(0x73); break;
    case 'deep-tuple': model(); p.op(0x4e); for (let i = 0; i < n; i++) p.op(0x85); p.op(0x73); break;
    case 'deep-dict': p.op(0x7d); for (let i = 0; i < n; i++) p.str('model').op(0x7d); for (let i = 0; i < n; i++) p.op(0x73); break;
    case 'memo-self-list': model(); p.op(0x5d, 0x71, 0, 0x68, 0, 0x61).op(0x73); break;
    case 'memo-self-dict':
      // {'model': <itself>}, optionally also holding a tensor-looking entry.
      p.op(0x7d, 0x71, 0).str('model').op(0x68, 0, 0x73);
      if (rng.chance(0.5) && storages.length) { p.str('w'); rebuild(p, storages[0], 0, [1], [1]); p.op(0x73); }
      break;
    case 'memo-missing': model(); p.op(...(rng.chance(0.5) ? [0x68, rng.int(256)] : [0x6a, ...u32(rng.u32())])).op(0x73); break;
    case 'memo-flood': model(); p.op(0x4e); for (let i = 0; i < n; i++) p.op(0x94); p.op(0x73); break;
    case 'wide-appends': model(); p.op(0x5d).mark(); for (let i = 0; i < n; i++) p.op(0x4e); p.op(0x65, 0x73); break;
    case 'wide-setitems': model(); p.op(0x7d).mark(); for (let i = 0; i < n; i++) p.int(i & 0xffff).op(0x4e); p.op(0x75, 0x73); break;
    case 'wide-tuple': model(); p.mark(); for (let i = 0; i < n; i++) p.op(0x4e); p.op(0x74, 0x73); break;
    case 'unsafe-global': {
      const [m, f] = rng.pick(UNSAFE);
      model().global(m, f).mark().str('echo pwned').tuple().op(0x52, 0x73);
      break;
    }
    case 'stack-global': {
      const [m, f] = rng.pick([...UNSAFE, ['collections', 'OrderedDict'], ['torch', 'FloatStorage']]);
      model();
      if (rng.chance(0.7)) p.str(m).str(f); else p.int(rng.int(100)).op(0x4e);
      p.op(0x93, 0x29, 0x52, 0x73);
      break;
    }
    case 'reduce-junk':
      model().op(...rng.pick([[0x4e, 0x29, 0x52], [0x29, 0x29, 0x52], [0x29, 0x4e, 0x81], [0x5d, 0x7d, 0x62], [0x4e, 0x51], [0x29, 0x51]]));
      p.op(0x73);
      break;
    case 'persid-lies': {
      const s = storages[rng.int(storages.length)] ?? { key: '0', numel: 1, type: 'FloatStorage' };
      const lie = { ...s };
      const which = rng.int(4);
      if (which === 0) lie.key = rng.pick(['../../etc/passwd', '', 'x'.repeat(65), '/abs', 'missing', '0\n']);
      if (which === 1) lie.numel = lieCount(rng);
      if (which === 2) lie.type = rng.pick(['EvilStorage', 'LongStorage', 'BoolStorage', 'UntypedStorage', 'ComplexFloatStorage', 'HalfStorage']);
      model().op(0x7d).str('t');
      rebuild(p, lie, 0, [Math.max(1, Math.min(s.numel, 4))], [1]).op(0x73, 0x73);
      break;
    }
    case 'tensor-dims': {
      const s = storages[rng.int(storages.length)] ?? { key: '0', numel: 1, type: 'FloatStorage' };
      const dims = rng.range(0, 18);
      const shape: Array<number | bigint> = Array.from({ length: dims }, () => (rng.chance(0.6) ? lieCount(rng) : rng.range(0, 4)));
      const stride: Array<number | bigint> = Array.from({ length: rng.chance(0.9) ? dims : rng.int(4) }, () => (rng.chance(0.5) ? rng.pick([0, 1, -1, 2 ** 40]) : rng.int(4)));
      if (rng.chance(0.2)) shape.push(rng.pick([1n << 70n, -(1n << 70n), -5n]));
      const offset = rng.chance(0.7) ? 0 : rng.pick([1, s.numel, s.numel - 1, 2 ** 53, -1, 1.5]);
      model().op(0x7d).str('t');
      rebuild(p, s, offset, shape, stride).op(0x73, 0x73);
      break;
    }
    case 'bad-ints': model().op(...rng.pick([[0x8a, 255, ...new Array(255).fill(0xff)], [0x8b, ...u32(2 ** 31)], [0x8b, ...u32(1025), ...new Array(1025).fill(1)], [0x8a, 9]])).op(0x73); break;
    case 'bad-strings':
      model().op(...rng.pick([[0x58, ...u32(0xffffffff)], [0x8d, ...u64(1n << 63n)], [0x8e, ...u64((1n << 64n) - 1n)], [0x58, 2, 0, 0, 0, 0xc3, 0x28],
        [0x8c, 200, 0x41], [0x42, ...u32(17 << 20)], [0x54, ...u32(0x7fffffff)]])).op(0x73);
      break;
    case 'frame-proto': p.op(...rng.pick([[0x95, ...u64(1n << 62n)], [0x80, 6], [0x80, 255], [0x95, 1, 2, 3]])); break;
    case 'global-line': p.op(0x63, ...ascii(rng.pick(['os', 'a'.repeat(300), 'collections\nOrderedDict', '\n\n', 'torch\n']))); break;
    case 'random-ops': { const ops = rng.range(1, 200); for (let i = 0; i < ops; i++) p.op(...randomOpcode(rng)); break; }
  }
  // Most variants end properly; some stop short to test the end-of-data paths.
  if (rng.chance(0.9)) p.stop();
  return { kind: `pickle-${kind}`, bytes: p.bytes() };
}

/** A pickle mutated at the opcode level: cut at an opcode, drop / duplicate / insert opcodes, or flip bits. */
export function mutatePickle(rng: Rng, pkl: Uint8Array): { kind: string; bytes: Uint8Array } {
  const ops = opcodeOffsets(pkl);
  const at = ops.length ? rng.pick(ops) : 0;
  const next = ops[ops.indexOf(at) + 1] ?? pkl.length;
  const r = rng.int(5);
  const join = (...parts: ArrayLike<number>[]) => Uint8Array.from(parts.flatMap((x) => Array.from(x)));
  if (r === 0) return { kind: 'pickle-cut', bytes: pkl.slice(0, at) };
  if (r === 1) return { kind: 'pickle-drop-op', bytes: join(pkl.subarray(0, at), pkl.subarray(next)) };
  if (r === 2) return { kind: 'pickle-dup-op', bytes: join(pkl.subarray(0, next), pkl.subarray(at)) };
  if (r === 3) return { kind: 'pickle-insert-op', bytes: join(pkl.subarray(0, at), randomOpcode(rng), pkl.subarray(at)) };
  const out = pkl.slice();
  for (let i = rng.range(1, 4); i > 0; i--) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return { kind: 'pickle-bitflip', bytes: out };
}
