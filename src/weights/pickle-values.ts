// What the restricted unpickler produces: plain data, plus two lazy descriptors
// for torch storages and tensors. The allow-listed globals are data builders
// implemented here; nothing named in a pickle is ever looked up or executed.
import type { DType } from './dtype.js';

/** A Python tuple (lists are plain arrays, dicts are Maps). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** An instance of an allow-listed plain class (argparse.Namespace, torch.device): its attributes only. */
export class PyObject {
  constructor(readonly className: string, readonly attrs = new Map<string, PyValue>()) {}
}

/** A reference to an allow-listed global, e.g. `torch.FloatStorage`, before it is applied. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string { return `${this.module}.${this.name}`; }
}

/** A storage named by a persistent id ('storage', type, key, location, numel). */
export class StorageRef {
  constructor(
    /** The storage class name, e.g. 'FloatStorage'. */
    readonly typeName: string,
    /** null when the storage type is not one we know. */
    readonly dtype: DType | null,
    /** Name of its record: `<stem>/data/<key>`. */
    readonly key: string,
    readonly location: string,
    /** Element count of the whole storage. */
    readonly numel: number,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage, not yet read. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    /** In elements, from the start of the storage. */
    readonly offset: number,
    readonly shape: number[],
    /** In elements. */
    readonly stride: number[],
  ) {}
  get storageKey(): string { return this.storage.key; }
  get dtype(): DType | null { return this.storage.dtype; }
}

export type PyDict = Map<PyValue, PyValue>;
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] |
  PyTuple | PyDict | PyObject | PyGlobal | StorageRef | TensorRef;

/** Storage classes by name; torch.save writes the legacy typed names (torch.FloatStorage, ...). */
export const STORAGE_DTYPES: Record<string, DType> = {
  DoubleStorage: 'f64', FloatStorage: 'f32', HalfStorage: 'f16', BFloat16Storage: 'bf16',
  LongStorage: 'i64', IntStorage: 'i32', ShortStorage: 'i16', CharStorage: 'i8',
  ByteStorage: 'u8', BoolStorage: 'bool', UntypedStorage: 'u8',
};

/** A short description of a value for error messages (never recursive, so cycles are harmless). */
export function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `list of ${v.length}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof PyTuple) return `tuple of ${v.items.length}`;
  if (v instanceof PyObject) return `${v.className} object`;
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof StorageRef) return `storage ${v.key}`;
  if (v instanceof TensorRef) return 'tensor';
  if (v instanceof Uint8Array) return `bytes of ${v.length}`;
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : String(v);
}
