// The engine as it lives in the worker: one GPU device, at most one model, and
// a queue so that GPU work runs one call at a time in call order. A call made
// while a model is loading waits for the load; a load replaces the previous
// model only once it has succeeded. worker.ts exposes an instance through
// comlink; tests drive one directly or over a MessageChannel.
import { transfer } from 'comlink';
import { atResolution, nativeInput } from '../api/resolution.js';
import { DisposedError, InputError, LoadAbortedError } from '../errors.js';
import { acquireGpu, releaseGpu, type AcquireOptions, type GpuContext } from '../gpu/context.js';
import type { VimConfig } from '../model/config.js';
import { destroyWeights, type GpuWeights } from '../model/gpu-weights.js';
import { VimGpu } from '../model/vim-gpu.js';
import { evalTransform } from '../image/preprocess.js';
import { deleteCached, listCached } from '../weights/cache.js';
import { loadWeights, type LoadResult } from '../weights/stream-loader.js';
import type { LoadProgress } from '../weights/stream-loader-progress.js';
import { toRgb } from './pixels.js';
import type {
  WorkerEngineApi, WorkerFeatures, WorkerImage, WorkerInference, WorkerLoadOptions, WorkerModelInfo, WorkerSource, WorkerStatus,
} from './protocol.js';

interface Model { vim: VimGpu; info: WorkerModelInfo }

export class WorkerEngineCore implements WorkerEngineApi {
  private ctx?: Promise<GpuContext>;
  private model?: Model;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly loads = new Map<number, AbortController>();
  private pendingLoads = 0;
  private disposed = false;

  constructor(private readonly gpuOptions: AcquireOptions = {}) {}

  /** The device, acquired on first use and again after a loss. */
  private gpu(): Promise<GpuContext> {
    this.ctx ??= acquireGpu(this.gpuOptions).then((ctx) => {
      void ctx.device.lost.then(() => {
        // Everything on the lost device is gone: the next load starts afresh.
        this.ctx = undefined;
        this.model = undefined;
      });
      return ctx;
    }, (e: unknown) => { this.ctx = undefined; throw e; });
    return this.ctx;
  }

  /** Runs `job` after every call made before it (even failed ones). */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new DisposedError('the worker engine was disposed'));
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async load(source: WorkerSource, options: WorkerLoadOptions = {}, onProgress?: (p: LoadProgress) => void): Promise<WorkerModelInfo> {
    const controller = new AbortController();
    if (options.loadId !== undefined) this.loads.set(options.loadId, controller);
    this.pendingLoads++;
    try {
      return await this.enqueue(async () => {
        const start = performance.now();
        if (controller.signal.aborted) throw new LoadAbortedError(typeof source === 'string' ? source : 'weights');
        const ctx = await this.gpu();
        // At the checkpoint's own size the model and its batch-1 plan are built as soon as the
        // buffers exist, so the pipelines compile while the weights are still downloading.
        let early: VimGpu | undefined;
        const warm = (weights: GpuWeights, config: VimConfig) => {
          try {
            const native = nativeInput(config);
            if (options.resolution !== undefined && options.resolution !== native.size) return;
            early = new VimGpu(ctx, config, weights);
            early.plan(1, native.size, native.size, native.stride);
          } catch {
            // Only an optimization: the model is built (and any problem reported) after the load.
            early?.releasePlans();
            early = undefined;
          }
        };
        let r: LoadResult;
        try {
          r = await loadWeights(ctx, source, {
            dtype: options.dtype, sha256: options.sha256, cache: options.cache ?? true, cacheKey: options.cacheKey,
            signal: controller.signal, onProgress, onAllocated: warm,
          });
        } catch (e) {
          early?.releasePlans();  // the loader has destroyed the weights
          throw e;
        }
        let vim: VimGpu;
        let at: ReturnType<typeof atResolution>;
        try {
          const D = r.config.embedDim;
          at = atResolution(r.config, new Map([['pos_embed', { shape: [1, r.config.posRows, D], data: r.posEmbed }]]),
            options.resolution, options.interpolation ?? 'official');
          vim = early ?? new VimGpu(ctx, at.config, r.weights, { posEmbed: at.posEmbed });
        } catch (e) {
          early?.releasePlans();
          destroyWeights(ctx, r.weights);
          throw e;
        }
        this.model?.vim.dispose();
        const info: WorkerModelInfo = {
          config: at.config, size: at.size, stride: at.stride, grid: at.grid, interpolation: at.interpolation,
          dtype: r.header.target, source: r.source, sha256: r.sha256, fileBytes: r.fileBytes,
          fromCache: r.fromCache, converted: r.converted, metadata: describingMetadata(r.header.metadata),
          loadMs: performance.now() - start,
        };
        this.model = { vim, info };
        return info;
      });
    } finally {
      this.pendingLoads--;
      if (options.loadId !== undefined) this.loads.delete(options.loadId);
    }
  }

  abort(loadId: number): void {
    this.loads.get(loadId)?.abort();
  }

  private current(): Model {
    if (!this.model) throw new InputError('model', 'no model is loaded: call load() first (or the last load failed)');
    return this.model;
  }

  infer(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<Float32Array> {
    return this.enqueue(async () => {
      const logits = await this.current().vim.forward(input, batch, height, width, stride);
      return transfer(logits, [logits.buffer]);
    });
  }

  inferImage(image: WorkerImage): Promise<Float32Array> {
    return this.enqueue(async () => {
      const { vim, info } = this.current();
      const tensor = evalTransform(toRgb(image), info.size);
      const logits = await vim.forward(tensor, 1, info.size, info.size, info.stride);
      return transfer(logits, [logits.buffer]);
    });
  }

  inferTimed(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<WorkerInference> {
    return this.enqueue(async () => {
      const r = await this.current().vim.forwardTimed(input, batch, height, width, stride);
      return transfer({ logits: r.logits, gpuMs: r.gpuMs }, [r.logits.buffer]);
    });
  }

  inferImageTimed(image: WorkerImage): Promise<WorkerInference> {
    return this.enqueue(async () => {
      const { vim, info } = this.current();
      const r = await vim.forwardTimed(evalTransform(toRgb(image), info.size), 1, info.size, info.size, info.stride);
      return transfer({ logits: r.logits, gpuMs: r.gpuMs }, [r.logits.buffer]);
    });
  }

  features(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<WorkerFeatures> {
    return this.enqueue(async () => {
      const f = await this.current().vim.forwardWithFeatures(input, batch, height, width, stride);
      return transfer({ logits: f.logits, tokens: f.tokens, geometry: f.geometry, gpuMs: f.gpuMs }, [f.logits.buffer, f.tokens.buffer]);
    });
  }

  async status(): Promise<WorkerStatus> {
    const ctx = this.ctx && await this.ctx.catch(() => undefined);
    return {
      model: this.model?.info ?? null,
      loading: this.pendingLoads > 0,
      adapter: ctx?.adapterInfo ?? null,
      gpuBuffers: ctx?.buffers.liveCount ?? 0,
      gpuBytes: ctx?.buffers.bytesInUse ?? 0,
    };
  }

  listCached() { return listCached(); }
  deleteCached(source?: string) { return deleteCached(source); }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    for (const c of this.loads.values()) c.abort();
    await this.enqueue(async () => {
      this.model?.vim.dispose();
      this.model = undefined;
      const ctx = this.ctx && await this.ctx.catch(() => undefined);
      if (ctx) releaseGpu(ctx);
      this.ctx = undefined;
    });
    this.disposed = true;
  }
}

/** What the page needs of a file's metadata: not the hashes and quantization tables (kilobytes per call). */
function describingMetadata(metadata: Record<string, string>): Record<string, string> {
  const { sha256: _hashes, quantization: _quantization, ...rest } = metadata;
  return rest;
}
