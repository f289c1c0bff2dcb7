// Starting the worker engine: createWorkerEngine() starts the module worker
// (worker.ts, which owns the GPU device) and returns the Engine on the page's
// side of it (remote-engine.ts), with the same interface as the engine in this
// thread. A worker whose script fails to load never answers (comlink sees no
// error), so the first call waits for a first answer with a deadline.
import { wrap, type Endpoint, type Remote } from 'comlink';
import { WorkerUnavailableError } from '../api/errors.js';
import { RemoteEngine } from './remote-engine.js';
import { installErrorTransfer } from './wire-errors.js';
import type { WorkerEngineApi } from './protocol.js';

export type * from './protocol.js';
export { RemoteEngine };

/** How long a new worker may take to answer (it downloads and compiles its module first). */
export const WORKER_START_MS = 20_000;

export interface WorkerEngineOptions {
  /** An endpoint to use instead of starting worker.ts (tests: a MessagePort; or a Worker you started). */
  endpoint?: Endpoint & { terminate?: () => void };
  /** Deadline for the worker's first answer, in ms (default WORKER_START_MS). */
  startMs?: number;
}

/** Resolves once the worker answers; WorkerUnavailableError after `ms` without an answer. */
async function answered(remote: Remote<WorkerEngineApi>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WorkerUnavailableError(
      `the engine's Web Worker did not answer within ${ms / 1000} s (blocked by a Content-Security-Policy, ` +
      'or dist/worker.js was not bundled); pass worker: false to run in this thread')), ms);
  });
  try {
    await Promise.race([remote.info(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function createWorkerEngine(options: WorkerEngineOptions = {}): RemoteEngine {
  installErrorTransfer();
  const endpoint = options.endpoint ?? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'vim-webgpu' });
  const remote = wrap<WorkerEngineApi>(endpoint);
  const started = answered(remote, options.startMs ?? WORKER_START_MS);
  started.catch(() => undefined); // reported by the first call; unobserved until then
  return new RemoteEngine(remote, started, () => {
    endpoint.terminate?.();
    (endpoint as { close?: () => void }).close?.();
  });
}
