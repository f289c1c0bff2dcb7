// Errors of the public API that the engine core does not raise itself. Like
// every engine error they extend VimError, so `instanceof` works across them,
// and each sets a literal `name` (see src/errors.ts: minifiers rename classes).
import { VimError } from '../errors.js';

/** A GPU allocation failed (the device reported out-of-memory while weights or activations were created). */
export class OutOfMemoryError extends VimError {
  override name = 'OutOfMemoryError';
  constructor(readonly what: string, readonly bytes?: number, detail = '') {
    super(`out of GPU memory while allocating ${what}${bytes ? ` (${(bytes / 2 ** 20).toFixed(1)} MiB)` : ''}${detail ? `: ${detail}` : ''}; ` +
      'close other GPU-heavy tabs or apps, or use a smaller batch, resolution or model');
  }
}

/** The engine's Web Worker did not start (blocked by a Content-Security-Policy, or its script was not bundled). */
export class WorkerUnavailableError extends VimError {
  override name = 'WorkerUnavailableError';
}

/**
 * The operation was cancelled through its AbortSignal. Named 'AbortError', like
 * the DOMException that fetch() throws, so `e.name === 'AbortError'` checks work.
 */
export class AbortError extends VimError {
  override name = 'AbortError';
  constructor(readonly reason?: unknown) {
    super(`aborted${reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''}`);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/**
 * Settles like `promise`, or rejects with AbortError as soon as `signal` fires.
 * The work itself runs on (GPU work cannot be recalled); its result is dropped.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
