// The restricted unpickler: values it must build, globals it must refuse,
// and the limits that keep a hostile pickle from exhausting memory.
import { describe, expect, test } from 'vitest';
import { UnsafePickleError, WeightFormatError } from '../src/errors.js';
import { DEFAULT_PICKLE_LIMITS, unpickle } from '../src/weights/pickle.js';
import { PyObject, PyTuple, StorageRef, TensorRef } from '../src/weights/pickle-values.js';
import { PickleWriter, stateDictPickle } from './weights-helpers.js';

const P = () => new PickleWriter().proto(2);
const run = (p: PickleWriter | Uint8Array, limits = DEFAULT_PICKLE_LIMITS) =>
  unpickle(p instanceof PickleWriter ? p.bytes() : p, 'w.pth', 'w/data.pkl', limits);

function failure(fn: () => unknown): Error {
  try { fn(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

describe('values', () => {
  test('scalars, strings, bytes, containers and the memo', () => {
    const v = run(P().op(0x7d, 0x71, 0).mark()                       // {  (memo 0)
      .str('neg').op(0x4a, 0xfe, 0xff, 0xff, 0xff)                   // BININT -2
      .str('big').op(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1)            // LONG1 2**64
      .str('small').op(0x8a, 2, 0x00, 0x80)                          // LONG1 -32768
      .str('pi').float(Math.PI)
      .str('flags').op(0x88, 0x89, 0x4e, 0x87)                       // (True, False, None)
      .str('raw').op(0x43, 3, 1, 2, 3)                               // SHORT_BINBYTES
      .str('short').op(0x8c, 2, 0x68, 0x69)                          // SHORT_BINUNICODE 'hi'
      .str('list').op(0x5d, 0x71, 1).mark().int(1).int(300).int(70000).op(0x65).str('x').op(0x61)
      .str('again').op(0x68, 1)                                      // BINGET 1: the same list
      .str('unicode').str('Vim – 視覺').op(0x75).stop()) as Map<string, unknown>;
    expect(v.get('neg')).toBe(-2);
    expect(v.get('big')).toBe(2n ** 64n);
    expect(v.get('small')).toBe(-32768);
    expect(v.get('pi')).toBe(Math.PI);
    expect((v.get('flags') as PyTuple).items).toEqual([true, false, null]);
    expect(v.get('raw')).toEqual(Uint8Array.of(1, 2, 3));
    expect(v.get('short')).toBe('hi');
    expect(v.get('list')).toEqual([1, 300, 70000, 'x']);
    expect(v.get('again')).toBe(v.get('list'));
    expect(v.get('unicode')).toBe('Vim – 視覺');
  });

  test('argparse.Namespace via NEWOBJ + BUILD is plain attributes', () => {
    const ns = run(P().global('argparse', 'Namespace').op(0x29, 0x81, 0x7d).mark()
      .str('model').str('vim_tiny').str('lr').float(5e-4).op(0x75, 0x62).stop());
    expect(ns).toBeInstanceOf(PyObject);
    expect((ns as PyObject).attrs).toEqual(new Map<string, unknown>([['model', 'vim_tiny'], ['lr', 5e-4]]));
  });

  test('a torch state dict yields lazy tensor descriptors, not data', () => {
    const sd = run(stateDictPickle([{ name: 'w', shape: [2, 3], record: new Uint8Array(32), offset: 2, storageType: 'HalfStorage', key: 'k7' }], null));
    const t = (sd as Map<string, unknown>).get('w') as TensorRef;
    expect(t).toBeInstanceOf(TensorRef);
    expect(t.storage).toEqual(new StorageRef('HalfStorage', 'f16', 'k7', 'cpu', 16));
    expect({ key: t.storageKey, dtype: t.dtype, offset: t.offset, shape: t.shape, stride: t.stride })
      .toEqual({ key: 'k7', dtype: 'f16', offset: 2, shape: [2, 3], stride: [3, 1] });
  });

  test('an unknown torch storage class is kept as an unknown dtype (reported when read)', () => {
    const sd = run(stateDictPickle([{ name: 'q', shape: [4], record: new Uint8Array(4), storageType: 'QUInt8Storage' }], null));
    expect(((sd as Map<string, TensorRef>).get('q')!).dtype).toBeNull();
  });
});

describe('globals outside the allow-list are refused', () => {
  const cases: Array<[string, string, boolean]> = [
    ['os', 'system', false], ['posix', 'system', false], ['builtins', 'eval', true], ['builtins', 'exec', false],
    ['subprocess', 'Popen', true], ['torch', 'load', false], ['torch._utils', '_rebuild_qtensor', false],
    ['collections', 'defaultdict', false], ['torch.nn', 'FloatStorage', false], ['torch', 'Storage', true],
  ];
  test.each(cases)('%s.%s (STACK_GLOBAL: %s)', (module, name, stackGlobal) => {
    const p = P();
    if (stackGlobal) p.op(0x8c, module.length, ...new TextEncoder().encode(module)).str(name).op(0x93);
    else p.global(module, name);
    p.str('id').op(0x85, 0x52).stop();
    const err = failure(() => run(p));
    expect(err).toBeInstanceOf(UnsafePickleError);
    expect((err as UnsafePickleError).global).toBe(`${module}.${name}`);
    expect(err.message).toContain('w.pth');
  });

  test('REDUCE of a non-callable or with non-tuple arguments', () => {
    expect(failure(() => run(P().str('f').op(0x29, 0x52).stop())).message).toMatch(/not callable/);
    expect(failure(() => run(P().global('collections', 'OrderedDict').int(1).op(0x52).stop())).message).toMatch(/not a tuple/);
  });

  test('a persistent id that is not a torch storage', () => {
    expect(failure(() => run(P().str('file:///etc/passwd').op(0x51).stop())).message).toMatch(/persistent id/);
    const badKey = P().mark().str('storage').global('torch', 'FloatStorage').str('../../x').str('cpu').int(1).tuple().op(0x51).stop();
    expect(failure(() => run(badKey)).message).toMatch(/storage key/);
  });

  test('_rebuild_tensor_v2 with malformed arguments', () => {
    const p = P().global('torch._utils', '_rebuild_tensor_v2').mark().str('not a storage').int(0).ints([1]).ints([1])
      .op(0x89, 0x4e).tuple().op(0x52).stop();
    expect(failure(() => run(p)).message).toMatch(/expects a storage/);
  });
});

describe('limits and malformed streams', () => {
  const small = { ...DEFAULT_PICKLE_LIMITS, maxDepth: 8, maxMemo: 4, maxStack: 16, maxStringBytes: 10 };
  const cases: Array<[string, () => PickleWriter | Uint8Array, RegExp]> = [
    ['nesting', () => { const p = P(); for (let i = 0; i < 9; i++) p.mark(); return p; }, /nesting deeper than 8/],
    ['memo', () => { const p = P().op(0x4e); for (let i = 0; i < 5; i++) p.op(0x71, i); return p; }, /memo exceeds 4/],
    ['stack', () => { const p = P(); for (let i = 0; i < 17; i++) p.op(0x4e); return p; }, /stack exceeds/],
    ['string length', () => P().str('x'.repeat(11)), /exceeds the limit of 10/],
    ['claimed string length', () => P().op(0x58, 0xf0, 0xff, 0xff, 0xff, 0x61), /exceeds the limit/],
    ['truncated string', () => P().op(0x58, 5, 0, 0, 0, 0x61, 0x62), /truncated/],
    ['no STOP', () => P().op(0x4e), /truncated/],
    ['empty memo slot', () => P().op(0x68, 3), /memo slot 3 is empty/],
    ['stack underflow', () => P().op(0x30), /underflow/],
    ['unknown opcode', () => P().op(0xff), /opcode 0xff/],
    ['text-protocol opcode', () => P().op(0x49, 0x31, 0x0a), /opcode 0x49 \('I'\)/],
    ['future protocol', () => new PickleWriter().proto(9), /protocol 9/],
    ['invalid UTF-8', () => P().op(0x58, 2, 0, 0, 0, 0xc3, 0x28), /UTF-8/],
    ['APPEND to a dict', () => P().op(0x7d, 0x4e, 0x61), /not a list/],
    ['SETITEM on a list', () => P().op(0x5d, 0x4e, 0x4e, 0x73), /not a dict/],
    ['huge LONG4', () => P().op(0x8b, 0, 0, 1, 0), /integer/],
  ];
  test.each(cases)('%s', (_, make, message) => {
    const err = failure(() => run(make(), small));
    expect(err).toBeInstanceOf(WeightFormatError);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^w\.pth: w\/data\.pkl at byte \d+/);
  });

  test('a 100k-deep nest with default limits fails fast instead of overflowing', () => {
    const p = P();
    for (let i = 0; i < 100_000; i++) p.mark();
    expect(failure(() => run(p)).message).toMatch(/nesting deeper than 1000/);
  });
});
