// The worker side of the protocol: a thin adapter that exposes an Engine (the
// WebGPU engine, the same class the page would run) through comlink, the way
// WebLLM's worker handler wraps its engine. It only translates: call ids to
// AbortSignals, the page's progress proxy to a callback, results to transfers.
import { releaseProxy, transfer } from 'comlink';
import type { Engine } from '../engine/engine.js';
import { deleteCached, listCached } from '../weights/cache.js';
import type { InferResult, LoadProgress, WireImage, WireInferOptions, WireLoadRequest, WorkerEngineApi } from './protocol.js';

/** The result's arrays, handed to the page rather than copied. */
function transferables(r: InferResult): ArrayBuffer[] {
  const out = [r.logits.buffer as ArrayBuffer];
  for (const f of r.features ?? []) out.push(f.cls.buffer as ArrayBuffer, f.patches.buffer as ArrayBuffer);
  return [...new Set(out)];
}

export class EngineHandler implements WorkerEngineApi {
  private readonly calls = new Map<number, AbortController>();

  constructor(private readonly engine: Engine) {}

  /** Runs `work` with a signal that abort(callId) fires. */
  private async cancellable<T>(callId: number | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    if (callId !== undefined) this.calls.set(callId, controller);
    try {
      return await work(controller.signal);
    } finally {
      if (callId !== undefined) this.calls.delete(callId);
    }
  }

  async load({ callId, ...request }: WireLoadRequest, onProgress?: (p: LoadProgress) => void) {
    try {
      return await this.cancellable(callId, (signal) =>
        this.engine.load({ ...request, signal, onProgress: onProgress && ((p) => { void onProgress(p); }) }));
    } finally {
      // A comlink proxy of the page's function: released once the load is over.
      (onProgress as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy]?.();
    }
  }

  async infer(images: WireImage[], { callId, ...options }: WireInferOptions) {
    const r = await this.cancellable(callId, (signal) => this.engine.infer(images, { ...options, signal }));
    return transfer(r, transferables(r));
  }

  abort(callId: number): void {
    this.calls.get(callId)?.abort();
  }

  info() { return this.engine.info(); }
  listCached() { return listCached(); }
  deleteCached(source?: string) { return deleteCached(source); }

  async dispose(): Promise<void> {
    for (const c of this.calls.values()) c.abort();
    await this.engine.dispose();
  }
}
