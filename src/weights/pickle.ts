// A restricted unpickler for the pickles torch.save writes (protocol 2) and the
// binary opcodes other common Python pickles use. It builds plain data only:
// globals must be on the allow-list (pickle-globals.ts), REDUCE/NEWOBJ/BUILD only
// run those data builders, tensors come back as lazy TensorRef descriptors, and
// every size the pickle claims is bounded.
import { WeightFormatError } from '../errors.js';
import { applyGlobal, buildObject, newObject, persistentLoad, resolveGlobal } from './pickle-globals.js';
import { PyTuple, describe, type PyDict, type PyValue } from './pickle-values.js';

export interface PickleLimits {
  /** Open MARKs at once (nesting depth of tuples, lists and dicts being built). */
  maxDepth: number;
  maxMemo: number;
  maxStack: number;
  /** Longest string or bytes value, in bytes. */
  maxStringBytes: number;
  /**
   * Containers and objects built in all (dicts, lists, tuples, REDUCE results). Bounds
   * memory and time: a few bytes of opcodes make a Map of ~100 bytes. A full
   * training checkpoint builds tens of thousands.
   */
  maxContainers: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxDepth: 1000, maxMemo: 1 << 20, maxStack: 1 << 20, maxStringBytes: 16 << 20, maxContainers: 1 << 18,
};

/** Opcodes that build a container or object. */
const BUILDERS = new Set([0x7d, 0x5d, 0x29, 0x85, 0x86, 0x87, 0x74, 0x6c, 0x64, 0x52, 0x81, 0x51]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** push(...items) passes every item as an argument: a wide APPENDS would overflow the call stack. */
function appendAll(list: PyValue[], items: PyValue[]): void {
  for (const v of items) list.push(v);
}

/** Unpickles `bytes` (named `what` inside `file` in errors) into plain values. */
export function unpickle(bytes: Uint8Array, file: string, what = 'data.pkl',
  limits: PickleLimits = DEFAULT_PICKLE_LIMITS): PyValue {
  return new Unpickler(bytes, file, what, limits).run();
}

class Unpickler {
  private pos = 0;
  private opStart = 0;
  private built = 0;
  private stack: PyValue[] = [];
  private readonly marks: PyValue[][] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly dv: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly file: string,
    private readonly what: string, private readonly limits: PickleLimits) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private readonly fail = (detail: string): never => {
    throw new WeightFormatError(this.file, `${this.what} at byte ${this.opStart}: ${detail}`);
  };

  run(): PyValue {
    for (;;) {
      this.opStart = this.pos;
      const op = this.u8();
      if (op === 0x2e) return this.pop();      // STOP
      if (BUILDERS.has(op) && ++this.built > this.limits.maxContainers) this.fail(`builds more than ${this.limits.maxContainers} containers`);
      this.step(op);
      if (this.stack.length > this.limits.maxStack) this.fail(`stack exceeds the limit of ${this.limits.maxStack} items`);
    }
  }

  private step(op: number): void {
    const push = (v: PyValue) => { this.stack.push(v); };
    switch (op) {
      case 0x80: { const p = this.u8(); if (p > 5) this.fail(`pickle protocol ${p} is not supported`); return; } // PROTO
      case 0x95: this.take(8); return;                                    // FRAME: a length hint only
      case 0x28:                                                          // MARK
        if (this.marks.length >= this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth}`);
        this.marks.push(this.stack); this.stack = []; return;
      case 0x30: this.pop(); return;                                      // POP
      case 0x31: this.popMark(); return;                                  // POP_MARK
      case 0x32: push(this.top()); return;                                // DUP
      case 0x4e: push(null); return;                                      // NONE
      case 0x88: push(true); return;                                      // NEWTRUE
      case 0x89: push(false); return;                                     // NEWFALSE
      case 0x4b: push(this.u8()); return;                                 // BININT1
      case 0x4d: push(this.u16()); return;                                // BININT2
      case 0x4a: push(this.dv.getInt32(this.advance(4), true)); return;    // BININT
      case 0x8a: push(this.long(this.u8())); return;                      // LONG1
      case 0x8b: push(this.long(this.u32())); return;                     // LONG4
      case 0x47: push(this.dv.getFloat64(this.advance(8), false)); return; // BINFLOAT (big-endian)
      case 0x8c: push(this.text(this.u8())); return;                      // SHORT_BINUNICODE
      case 0x58: push(this.text(this.u32())); return;                     // BINUNICODE
      case 0x8d: push(this.text(this.u64())); return;                     // BINUNICODE8
      case 0x55: push(this.latin1(this.u8())); return;                    // SHORT_BINSTRING (py2 str)
      case 0x54: push(this.latin1(this.u32())); return;                   // BINSTRING
      case 0x43: push(this.take(this.u8()).slice()); return;              // SHORT_BINBYTES
      case 0x42: push(this.take(this.u32()).slice()); return;             // BINBYTES
      case 0x8e: push(this.take(this.u64()).slice()); return;             // BINBYTES8
      case 0x7d: push(new Map()); return;                                 // EMPTY_DICT
      case 0x5d: push([]); return;                                        // EMPTY_LIST
      case 0x29: push(new PyTuple([])); return;                           // EMPTY_TUPLE
      case 0x85: push(new PyTuple(this.popN(1))); return;                 // TUPLE1
      case 0x86: push(new PyTuple(this.popN(2))); return;                 // TUPLE2
      case 0x87: push(new PyTuple(this.popN(3))); return;                 // TUPLE3
      case 0x74: push(new PyTuple(this.popMark())); return;               // TUPLE
      case 0x6c: push(this.popMark()); return;                            // LIST
      case 0x64: { const m = new Map<PyValue, PyValue>(); this.setItems(m, this.popMark()); push(m); return; } // DICT
      case 0x61: { const v = this.pop(); this.list(this.top()).push(v); return; }                            // APPEND
      case 0x65: { const items = this.popMark(); appendAll(this.list(this.top()), items); return; }          // APPENDS
      case 0x73: { const [k, v] = this.popN(2); this.setItems(this.dict(this.top()), [k, v]); return; }      // SETITEM
      case 0x75: { const items = this.popMark(); this.setItems(this.dict(this.top()), items); return; }      // SETITEMS
      case 0x71: this.put(this.u8()); return;                             // BINPUT
      case 0x72: this.put(this.u32()); return;                            // LONG_BINPUT
      case 0x94: this.put(this.memo.size); return;                        // MEMOIZE
      case 0x68: push(this.get(this.u8())); return;                       // BINGET
      case 0x6a: push(this.get(this.u32())); return;                      // LONG_BINGET
      case 0x63: push(resolveGlobal(this.file, this.line(), this.line())); return; // GLOBAL
      case 0x93: {                                                        // STACK_GLOBAL
        const [module, name] = this.popN(2);
        if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
        push(resolveGlobal(this.file, module as string, name as string)); return;
      }
      case 0x52: { const [f, args] = this.popN(2); push(applyGlobal(f, args, this.fail)); return; }  // REDUCE
      case 0x81: { const [cls, args] = this.popN(2); push(newObject(cls, args, this.fail)); return; } // NEWOBJ
      case 0x62: { const state = this.pop(); buildObject(this.top(), state, this.fail); return; }     // BUILD
      case 0x51: push(persistentLoad(this.pop(), this.fail)); return;     // BINPERSID
    }
    const ch = op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : '';
    this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}${ch}`);
  }

  // --- stack and memo ---
  private pop(): PyValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop()!;
  }
  private top(): PyValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popN(n: number): PyValue[] {
    if (this.stack.length < n) this.fail('stack underflow');
    return this.stack.splice(this.stack.length - n, n);
  }
  private popMark(): PyValue[] {
    const items = this.stack;
    const outer = this.marks.pop();
    if (!outer) return this.fail('no MARK to pop to');
    this.stack = outer;
    return items;
  }
  private put(index: number): void {
    if (this.memo.size >= this.limits.maxMemo && !this.memo.has(index)) this.fail(`memo exceeds ${this.limits.maxMemo} entries`);
    this.memo.set(index, this.top());
  }
  private get(index: number): PyValue {
    if (!this.memo.has(index)) this.fail(`memo slot ${index} is empty`);
    return this.memo.get(index)!;
  }
  private list(v: PyValue): PyValue[] {
    return Array.isArray(v) ? v : this.fail(`APPEND to ${describe(v)}, which is not a list`);
  }
  private dict(v: PyValue): PyDict {
    return v instanceof Map ? v : this.fail(`SETITEM on ${describe(v)}, which is not a dict`);
  }
  private setItems(m: PyDict, kv: PyValue[]): void {
    if (kv.length % 2) this.fail('odd number of items for a dict');
    for (let i = 0; i < kv.length; i += 2) m.set(kv[i], kv[i + 1]);
  }

  // --- reading the byte stream ---
  private advance(n: number): number {
    if (n > this.bytes.length - this.pos) this.fail(`needs ${n} more bytes but the pickle ends (truncated?)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  private take(n: number): Uint8Array {
    if (n > this.limits.maxStringBytes) this.fail(`a ${n}-byte value exceeds the limit of ${this.limits.maxStringBytes} bytes`);
    const at = this.advance(n);
    return this.bytes.subarray(at, at + n);
  }
  private u8(): number { return this.bytes[this.advance(1)]; }
  private u16(): number { return this.dv.getUint16(this.advance(2), true); }
  private u32(): number { return this.dv.getUint32(this.advance(4), true); }
  private u64(): number {
    const v = this.dv.getBigUint64(this.advance(8), true);
    return v > BigInt(this.bytes.length) ? this.fail(`length ${v} is longer than the pickle`) : Number(v);
  }
  private text(n: number): string {
    const raw = this.take(n);
    try { return utf8.decode(raw); } catch { return this.fail('string is not valid UTF-8'); }
  }
  private latin1(n: number): string {
    const raw = this.take(n);
    let s = '';
    // Chunked so that fromCharCode never gets more arguments than an engine allows.
    for (let i = 0; i < raw.length; i += 8192) s += String.fromCharCode(...raw.subarray(i, i + 8192));
    return s;
  }
  /** LONG1/LONG4: little-endian two's complement; small values become numbers. */
  private long(n: number): number | bigint {
    if (n > 1024) this.fail(`a ${n}-byte integer is not plausible in a checkpoint`);
    const raw = this.take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
    if (n > 0 && raw[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  /** GLOBAL's operands: newline-terminated ASCII module and name. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 256) this.fail('GLOBAL operand is not a short line');
    const s = String.fromCharCode(...this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
}
