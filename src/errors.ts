// Typed errors: every failure a user can cause ends in one of these, with a
// message that names the file, tensor or limit involved and what to do.
//
// Each class sets its `name` as a string literal, never from `new.target.name`
// or `constructor.name`: minifiers rename classes (webpack production turns
// AbortError into 'ma'), and `e.name === 'WeightFetchError'` must still hold
// in a minified app. test/errors-names.test.ts checks that every exported class
// has its own export name; e2e/bundlers.spec.ts checks it in minified bundles.

export class VimError extends Error {
  override name = 'VimError';
}

/** A weight file is malformed: bad zip, bad pickle, bad header, bad record. */
export class WeightFormatError extends VimError {
  override name = 'WeightFormatError';
  constructor(readonly file: string, readonly detail: string) {
    super(`${file}: ${detail}`);
  }
}

/** A pickle names a global outside the allow-list; nothing is ever executed. */
export class UnsafePickleError extends WeightFormatError {
  override name = 'UnsafePickleError';
  constructor(file: string, readonly global: string) {
    super(file, `pickle references '${global}', which is not allowed in a checkpoint (only tensors, dicts and plain values are)`);
  }
}

/** A tensor has a dtype the engine cannot read. */
export class UnsupportedDtypeError extends WeightFormatError {
  override name = 'UnsupportedDtypeError';
  constructor(file: string, readonly tensor: string, readonly dtype: string) {
    super(file, `tensor '${tensor}' has unsupported dtype ${dtype}`);
  }
}

/** The state dict does not describe a Vim model: missing, extra or mis-shaped tensors. */
export class ModelShapeError extends VimError {
  override name = 'ModelShapeError';
  constructor(readonly file: string, readonly tensor: string, readonly detail: string) {
    super(`${file}: tensor '${tensor}': ${detail}`);
  }
}

/** An input (image or tensor file) is unusable. */
export class InputError extends VimError {
  override name = 'InputError';
  constructor(readonly file: string, readonly detail: string) {
    super(`${file}: ${detail}`);
  }
}

/** WebGPU is missing or the adapter cannot run this model. */
export class GpuUnavailableError extends VimError {
  override name = 'GpuUnavailableError';
}

/** A request exceeds a device limit; the message names the limit. */
export class LimitExceededError extends VimError {
  override name = 'LimitExceededError';
  constructor(readonly limit: string, readonly requested: number, readonly available: number, hint = '') {
    super(`${limit}: needs ${requested}, adapter allows ${available}${hint ? `. ${hint}` : ''}`);
  }
}

/** The GPU device was lost during a call. */
export class DeviceLostError extends VimError {
  override name = 'DeviceLostError';
}

/**
 * A NaN or infinity where only finite numbers make sense: in weights (a corrupt
 * or diverged checkpoint), in an input tensor, or in the logits. Reported instead
 * of letting argmax turn garbage into a confident label.
 */
export class NumericsError extends VimError {
  override name = 'NumericsError';
  constructor(readonly where: string, readonly detail: string) {
    super(`${where}: ${detail}`);
  }
}

/** A model (or classifier) was used after dispose(). */
export class DisposedError extends VimError {
  override name = 'DisposedError';
}

/** Bytes do not match their sha256 (a corrupt download or cache entry, or the wrong file). */
export class IntegrityError extends WeightFormatError {
  override name = 'IntegrityError';
  constructor(file: string, readonly what: string, readonly expected: string, readonly actual: string) {
    super(file, `${what} is corrupt: sha256 ${actual}, expected ${expected}`);
  }
}

/** A weight download failed (network error or HTTP status); nothing was loaded. */
export class WeightFetchError extends VimError {
  override name = 'WeightFetchError';
  constructor(readonly url: string, readonly status: number | undefined, detail: string) {
    super(`${url}: ${detail}`);
  }
}

/** A load was cancelled through its AbortSignal; every GPU buffer it made is freed. */
export class LoadAbortedError extends VimError {
  override name = 'LoadAbortedError';
  constructor(readonly file: string) {
    super(`${file}: load aborted`);
  }
}
