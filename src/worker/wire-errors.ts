// Comlink sends a thrown Error as {message, name, stack} and rebuilds a plain
// Error, so `e instanceof WeightFormatError` would fail on the page. This
// handler sends the engine's errors with their class name and own fields and
// rebuilds an instance of the same class on the other side. Installed by both
// worker.ts and client.ts (and by tests that connect the two over a MessageChannel).
import { transferHandlers, type TransferHandler } from 'comlink';
import * as engineErrors from '../errors.js';
import * as apiErrors from '../api/errors.js';

// Every public error class: the engine's and the API's (OutOfMemoryError, AbortError, ...).
const errors = { ...engineErrors, ...apiErrors };

type ErrorClass = new (...args: never[]) => engineErrors.VimError;

// Keyed by export name, not constructor.name: a minifier may rename classes
// differently in the page's bundle and the worker's, but not export names
// (which are also each class's literal `name`).
const isErrorClass = (v: unknown): v is ErrorClass =>
  typeof v === 'function' && (v === engineErrors.VimError || v.prototype instanceof engineErrors.VimError);
const CLASSES = new Map<string, ErrorClass>(
  Object.entries(errors as Record<string, unknown>).flatMap(([name, v]) => isErrorClass(v) ? [[name, v] as const] : []),
);
const NAMES = new Map([...CLASSES].map(([name, c]) => [c, name]));

interface WireError { vim: true; className: string; message: string; stack?: string; fields: Record<string, unknown> }

export function toWire(e: engineErrors.VimError): WireError {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)) fields[k] = v;
  }
  return { vim: true, className: NAMES.get(e.constructor as ErrorClass) ?? 'VimError', message: e.message, stack: e.stack, fields };
}

export function fromWire(w: WireError): Error {
  const Class = CLASSES.get(w.className) ?? engineErrors.VimError;
  const e = Object.create(Class.prototype) as engineErrors.VimError;
  Object.defineProperty(e, 'message', { value: w.message, writable: true, configurable: true });
  Object.defineProperty(e, 'stack', { value: w.stack, writable: true, configurable: true });
  // `name` travels among the fields (each class sets it as a literal); the class name stands in where it does not.
  return Object.assign(e, { name: w.className }, w.fields);
}

let installed = false;

export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const base = transferHandlers.get('throw') as TransferHandler<{ value: unknown }, unknown>;
  transferHandlers.set('throw', {
    canHandle: base.canHandle,
    serialize(thrown: { value: unknown }) {
      if (thrown.value instanceof engineErrors.VimError) return [{ wire: toWire(thrown.value) }, []];
      return base.serialize(thrown);
    },
    deserialize(data: unknown) {
      const wire = (data as { wire?: WireError }).wire;
      if (wire?.vim) throw fromWire(wire);
      return base.deserialize(data);
    },
  } as TransferHandler<unknown, unknown>);
}
