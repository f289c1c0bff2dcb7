// The allow-list of globals a checkpoint pickle may name, and what applying each
// one builds. Everything here turns arguments into data; any other global is an
// UnsafePickleError (the classic attack names os.system or builtins.eval).
import { UnsafePickleError } from '../errors.js';
import { PyGlobal, PyObject, PyTuple, STORAGE_DTYPES, StorageRef, TensorRef, describe, type PyValue } from './pickle-values.js';

type Fail = (detail: string) => never;

const CALLABLES = new Set([
  'collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state', 'argparse.Namespace', 'torch.device', '_codecs.encode',
]);

/** Resolves GLOBAL / STACK_GLOBAL: an allow-listed marker, or UnsafePickleError naming the global. */
export function resolveGlobal(file: string, module: string, name: string): PyGlobal {
  const qualified = `${module}.${name}`;
  // Any torch.<X>Storage is a harmless type tag; unknown ones fail later as an unsupported dtype.
  if (CALLABLES.has(qualified) || (module === 'torch' && /^[A-Za-z0-9]+Storage$/.test(name))) {
    return new PyGlobal(module, name);
  }
  throw new UnsafePickleError(file, qualified);
}

/** REDUCE: applies an allow-listed global to its argument tuple. */
export function applyGlobal(callable: PyValue, args: PyValue, fail: Fail): PyValue {
  if (!(callable instanceof PyGlobal)) return fail(`REDUCE on ${describe(callable)}, which is not callable`);
  if (!(args instanceof PyTuple)) return fail(`REDUCE arguments are a ${describe(args)}, not a tuple`);
  const a = args.items;
  switch (callable.qualifiedName) {
    case 'collections.OrderedDict': return orderedDict(a, fail);
    case 'torch._utils._rebuild_tensor_v2': return rebuildTensor(a, fail);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      // A Parameter is its data tensor plus flags the engine has no use for.
      if (!(a[0] instanceof TensorRef)) return fail(`${callable.name} expects a tensor, got ${describe(a[0] ?? null)}`);
      return a[0];
    case 'argparse.Namespace':
      if (a.length) return fail('argparse.Namespace with positional arguments');
      return new PyObject('argparse.Namespace');
    case 'torch.device':
      if (typeof a[0] !== 'string' || a.length > 2) return fail('torch.device expects a string');
      return a.length === 2 ? `${a[0]}:${String(a[1])}` : a[0];
    case '_codecs.encode': return latin1Bytes(a, fail);
  }
  return fail(`${callable.qualifiedName} cannot be called`);
}

/** NEWOBJ: cls.__new__(cls, *args) for the few plain classes we accept. */
export function newObject(cls: PyValue, args: PyValue, fail: Fail): PyValue {
  if (cls instanceof PyGlobal && args instanceof PyTuple && args.items.length === 0) {
    if (cls.qualifiedName === 'argparse.Namespace') return new PyObject(cls.qualifiedName);
    if (cls.qualifiedName === 'collections.OrderedDict') return new Map();
  }
  return fail(`NEWOBJ of ${describe(cls)} is not supported`);
}

/** BUILD: sets an object's attributes from a state dict (no __setstate__ is run). */
export function buildObject(obj: PyValue, state: PyValue, fail: Fail): void {
  if (obj instanceof PyObject && state instanceof Map) {
    for (const [k, v] of state) {
      if (typeof k !== 'string') fail(`attribute name ${describe(k)} of ${obj.className} is not a string`);
      obj.attrs.set(k, v);
    }
    return;
  }
  // state_dict() is an OrderedDict carrying a `_metadata` attribute (per-module
  // versions); the engine has no use for it, so dict attributes are dropped.
  if (obj instanceof Map && (state === null || state instanceof Map)) return;
  fail(`BUILD of ${describe(obj)} from ${describe(state)} is not supported`);
}

/** BINPERSID: torch's persistent id ('storage', storage_type, key, location, numel). */
export function persistentLoad(pid: PyValue, fail: Fail): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : [];
  const [tag, type, key, location, numel] = items;
  if (items.length !== 5 || tag !== 'storage') return fail(`persistent id ${describe(pid)} is not a torch storage reference`);
  if (!(type instanceof PyGlobal) || !type.name.endsWith('Storage')) return fail(`storage type ${describe(type)} is not a torch storage class`);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key)) return fail(`storage key ${describe(key)} is not a plain name`);
  if (typeof location !== 'string') return fail(`storage location ${describe(location)} is not a string`);
  return new StorageRef(type.name, STORAGE_DTYPES[type.name] ?? null, key, location, count(numel, 'storage size', fail));
}

function orderedDict(a: PyValue[], fail: Fail): Map<PyValue, PyValue> {
  const m = new Map<PyValue, PyValue>();
  if (a.length === 0) return m;
  if (a.length !== 1 || !Array.isArray(a[0])) return fail('OrderedDict expects no arguments or a list of pairs');
  for (const pair of a[0]) {
    const kv = pair instanceof PyTuple ? pair.items : Array.isArray(pair) ? pair : [];
    if (kv.length !== 2) fail('OrderedDict item is not a pair');
    m.set(kv[0], kv[1]);
  }
  return m;
}

function rebuildTensor(a: PyValue[], fail: Fail): TensorRef {
  const [storage, offset, size, stride] = a;
  if (a.length < 6 || a.length > 7) return fail(`_rebuild_tensor_v2 expects 6 or 7 arguments, got ${a.length}`);
  if (!(storage instanceof StorageRef)) return fail(`_rebuild_tensor_v2 expects a storage, got ${describe(storage)}`);
  const shape = intTuple(size, 'size', fail), strides = intTuple(stride, 'stride', fail);
  if (shape.length !== strides.length) return fail(`tensor size ${shape.length}-d but stride ${strides.length}-d`);
  return new TensorRef(storage, count(offset, 'storage offset', fail), shape, strides);
}

function intTuple(v: PyValue, what: string, fail: Fail): number[] {
  if (!(v instanceof PyTuple)) return fail(`tensor ${what} is ${describe(v)}, not a tuple`);
  if (v.items.length > 16) return fail(`tensor ${what} has ${v.items.length} dimensions`);
  return v.items.map((d) => count(d, `tensor ${what}`, fail));
}

function count(v: PyValue | undefined, what: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return fail(`${what} ${describe(v ?? null)} is not a non-negative integer`);
  return v;
}

/** Protocol 2 pickles bytes as _codecs.encode(text, 'latin1'). */
function latin1Bytes(a: PyValue[], fail: Fail): Uint8Array {
  const [text, encoding] = a;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) return fail('_codecs.encode is only accepted for latin1 text');
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) fail('_codecs.encode text is not latin1');
    out[i] = c;
  }
  return out;
}
