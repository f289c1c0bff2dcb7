// The Web Worker entry: owns the GPU device (acquired inside the worker) and
// exposes a WorkerEngineCore to the page through comlink. Started by
// createWorkerEngine() in client.ts as a module worker.
import { expose, releaseProxy } from 'comlink';
import { WorkerEngineCore } from './engine-core.js';
import { installErrorTransfer } from './wire-errors.js';
import type { LoadProgress, WorkerLoadOptions, WorkerSource } from './protocol.js';

installErrorTransfer();

class ExposedEngine extends WorkerEngineCore {
  /** The progress callback is a comlink proxy of the page's function: released after the load. */
  override async load(source: WorkerSource, options?: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void) {
    try {
      return await super.load(source, options, onProgress && ((p) => { void onProgress(p); }));
    } finally {
      (onProgress as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy]?.();
    }
  }
}

expose(new ExposedEngine());
