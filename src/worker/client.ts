// Starting the worker engine: createWorkerEngine() starts the module worker
// (worker.ts, which owns the GPU device) and returns the Engine on the page's
// side of it (remote-engine.ts), with the same interface as the engine in this
// thread. A worker script that fails to load fires `error` on the Worker, which
// fails the start at once; one that loads but never answers (comlink sees no
// error) is caught by a deadline on its first answer.
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
  /**
   * The worker script's URL, for bundlers that do not bundle the package's
   * `new Worker(new URL('./worker.js', import.meta.url))` (esbuild, Rollup without
   * a plugin): bundle `vim-webgpu/worker` as an entry of its own and pass its URL.
   * Default: the worker.js that webpack 5 or Vite bundled beside this module.
   */
  workerUrl?: string | URL;
  /** Deadline for the worker's first answer, in ms (default WORKER_START_MS). */
  startMs?: number;
}

const STARTUP_HINT = 'a bundler that does not rewrite `new URL(\'./worker.js\', import.meta.url)` (esbuild, Rollup without a plugin) leaves ' +
  'the worker out: bundle vim-webgpu/worker as an entry of its own and pass its URL as `workerUrl` (README: Bundlers); ' +
  'a Content-Security-Policy must allow the script (worker-src); or pass worker: false to run in this thread';

/**
 * Starts the module worker. `failed` rejects with WorkerUnavailableError as soon
 * as its script fails to load (404, blocked, or an error while it is evaluated);
 * after the worker's first message, later error events are not startup failures.
 */
function startWorker(workerUrl: string | URL | undefined): { worker: Worker; failed: Promise<never> } {
  const where = workerUrl === undefined ? 'vim-webgpu\'s worker.js' : `'${String(workerUrl)}'`;
  let worker: Worker;
  try {
    // The default stays one literal `new Worker(new URL(…, import.meta.url), {…})`: the form bundlers recognise.
    worker = workerUrl === undefined
      ? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'vim-webgpu' })
      : new Worker(workerUrl, { type: 'module', name: 'vim-webgpu' });
  } catch (e) {
    throw new WorkerUnavailableError(`the engine's Web Worker (${where}) could not be created: ${(e as Error)?.message ?? e}; ${STARTUP_HINT}`);
  }
  let reject!: (e: Error) => void;
  const failed = new Promise<never>((_, r) => { reject = r; });
  failed.catch(() => undefined); // only calls in flight report it
  const onError = (event: Event) => {
    const detail = (event as ErrorEvent).message ? `: ${(event as ErrorEvent).message}` : '';
    reject(new WorkerUnavailableError(`the engine's Web Worker script (${where}) failed to load${detail}; ${STARTUP_HINT}`));
    worker.terminate();
  };
  const onMessage = () => {
    worker.removeEventListener('error', onError);
    worker.removeEventListener('message', onMessage);
  };
  worker.addEventListener('error', onError);
  worker.addEventListener('message', onMessage);
  return { worker, failed };
}

/** Resolves once the worker answers; WorkerUnavailableError after `ms` without an answer, or as soon as `failed` rejects. */
async function answered(remote: Remote<WorkerEngineApi>, ms: number, failed?: Promise<never>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WorkerUnavailableError(
      `the engine's Web Worker loaded but did not answer within ${ms / 1000} s; pass worker: false to run in this thread`)), ms);
  });
  try {
    await Promise.race([remote.info(), deadline, ...(failed ? [failed] : [])]);
  } finally {
    clearTimeout(timer);
  }
}

export function createWorkerEngine(options: WorkerEngineOptions = {}): RemoteEngine {
  installErrorTransfer();
  const start = options.endpoint ? undefined : startWorker(options.workerUrl);
  const endpoint = options.endpoint ?? start!.worker;
  const remote = wrap<WorkerEngineApi>(endpoint);
  const started = answered(remote, options.startMs ?? WORKER_START_MS, start?.failed);
  started.catch(() => undefined); // reported by the first call; unobserved until then
  return new RemoteEngine(remote, started, () => {
    endpoint.terminate?.();
    (endpoint as { close?: () => void }).close?.();
  });
}
