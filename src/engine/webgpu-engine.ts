// The WebGPU engine: one device, the model's weights on it (streamed by the one
// loader from any source, in any dtype), its forward plans, and per batch one
// command buffer that preprocesses the images straight into the model's input
// buffer and runs the forward pass. The same class runs in the calling thread
// and inside the Web Worker (src/worker wraps it for comlink).
//
// Device loss: the context's watcher (gpu/device-loss.ts) rejects the calls
// waiting on a lost device with DeviceLostError; the next call acquires a new
// device and uploads the weights again from the file's bytes kept in memory,
// so callers just retry. Allocations run inside out-of-memory error scopes.
import { DeviceLostError, DisposedError, InputError } from '../errors.js';
import { readBuffer } from '../gpu/buffers.js';
import { readPassMs } from '../gpu/pass-timer.js';
import type { ForwardPlan } from '../model/forward-plan.js';
import { destroyWeights, type GpuWeights } from '../model/gpu-weights.js';
import { VimGpu } from '../model/vim-gpu.js';
import { createNormalizeLut, encodePreprocess, PREPROCESS_KERNELS } from '../ops/preprocess.js';
import type { ImageInput } from '../api/types.js';
import { raceAbort, throwIfAborted } from '../api/errors.js';
import { gpuTarget } from '../weights/weight-target.js';
import { allocating, closeDevice, openDevice, type DeviceRequest, type OpenedDevice } from './device.js';
import type { Engine, EngineInfo, InferOptions, InferResult, LoadRequest, ModelSummary } from './engine.js';
import { prepareImages, type EngineImage } from './inputs.js';
import { loadModel, reportReady } from './model-load.js';
import { chunks, inferResult, type PassOutput } from './outputs.js';
import { nativeInput, type ModelAtResolution } from './resolution.js';

/** A model on a device, ready to run. */
interface Live extends OpenedDevice {
  vim: VimGpu;
  model: ModelAtResolution;
  /** The preprocessing's normalization table. */
  lut: GPUBuffer;
}

/** What a loss needs to build the model again on a new device. */
interface Loaded {
  request: Omit<LoadRequest, 'signal' | 'onProgress'>;
  summary: ModelSummary;
  /** The vim-webgpu file as loaded (converted, if the source was a checkpoint). */
  file: Blob;
}

export class WebGpuEngine implements Engine {
  readonly backend = 'webgpu' as const;
  private live?: Live;
  private restoring?: Promise<Live>;
  private loaded?: Loaded;
  /** The load in progress: calls made meanwhile wait for it, then run on the model it leaves. */
  private loading?: Promise<unknown>;
  private disposed = false;

  /** `device`: a caller's GPUDevice to use (never destroyed here); `gpu`: where to get our own. */
  constructor(private readonly request: DeviceRequest = {}) {}

  /** Loads run one after another; each replaces the model once it has succeeded (a failed one leaves the previous model). */
  load(req: LoadRequest): Promise<ModelSummary> {
    const before = this.loading?.catch(() => undefined);
    const p = (async () => { await before; return this.loadNow(req); })();
    const current = this.loading = p.catch(() => undefined).finally(() => { if (this.loading === current) this.loading = undefined; });
    return p;
  }

  private async loadNow(req: LoadRequest): Promise<ModelSummary> {
    this.assertLive();
    // The device first: a machine without WebGPU fails before any download.
    const current = this.live && !this.live.ctx.loss.lost ? this.live : undefined;
    const opened = current ?? await openDevice(this.request);
    try {
      throwIfAborted(req.signal);
      const { live, summary, file } = await this.build(opened, req);
      const { signal: _s, onProgress: _p, ...request } = req;
      this.replace(live);
      this.loaded = { request, summary, file };
      reportReady(req, summary);
      return summary;
    } catch (e) {
      if (!current) closeDevice(opened);
      throw e;
    }
  }

  /** Weights, normalization table and the batch-1 plan on a device; everything made is freed if any step fails. */
  private async build(opened: OpenedDevice, req: LoadRequest): Promise<{ live: Live; summary: ModelSummary; file: Blob }> {
    const { ctx } = opened;
    // At the checkpoint's own size the model and its batch-1 plan are built as soon as the
    // buffers exist, so the pipelines compile while the weights are still arriving.
    let early: { vim: VimGpu; size: number } | undefined;
    const warm = (weights: GpuWeights, config: VimGpu['config']) => {
      if (req.resolution !== undefined) return;
      try {
        const native = nativeInput(config);
        early = { vim: new VimGpu(ctx, config, weights), size: native.size };
        early.vim.plan(1, native.size, native.size, native.stride);
      } catch {
        early?.vim.releasePlans(); // only an optimization: the model is built (and any problem reported) below
        early = undefined;
      }
    };
    const m = await allocating(ctx.device, 'the model weights', () => undefined,
      () => loadModel(gpuTarget(ctx), req, { keep: true, onAllocated: warm, release: (w) => destroyWeights(ctx, w) }),
      (made) => { early?.vim.releasePlans(); destroyWeights(ctx, made.loaded.weights); },
    ).catch((e: unknown) => { early?.vim.releasePlans(); throw e; });
    const { model, loaded } = m;
    let vim: VimGpu;
    if (early && model.interpolation === null && early.size === model.size && early.vim.config.posRows === model.config.posRows) {
      vim = early.vim;
    } else {
      early?.vim.releasePlans();
      vim = new VimGpu(ctx, model.config, loaded.weights, { posEmbed: model.posEmbed });
    }
    const live: Live = { ...opened, vim, model, lut: createNormalizeLut(ctx) };
    try {
      await ctx.pipelines.warm([...PREPROCESS_KERNELS]);
      await this.planFor(live, 1); // activations for one image now: a limit or OOM fails the load, not the first call
    } catch (e) {
      this.freeModel(live);
      throw e;
    }
    return { live, summary: m.summary, file: new Blob(loaded.file as BlobPart[]) };
  }

  /** Makes `live` current; the model it replaces is freed, and its device too when that is another one. */
  private replace(live: Live): void {
    const old = this.live;
    this.live = live;
    if (!old) return;
    if (old.ctx === live.ctx) this.freeModel(old);
    else this.release(old);
  }

  private planFor(live: Live, batch: number): Promise<ForwardPlan> {
    const m = live.model;
    return allocating(live.ctx.device, `activations for a batch of ${batch} at ${m.size}x${m.size}`, () => undefined,
      () => live.vim.plan(batch, m.size, m.size, m.stride));
  }

  /** The current device, or a new one after a loss (one restore shared by concurrent callers). */
  private device(): Promise<Live> {
    if (this.disposed) return Promise.reject(new DisposedError('the classifier was disposed'));
    const live = this.live;
    if (live && !live.ctx.loss.lost) return Promise.resolve(live);
    this.restoring ??= this.restore(live).finally(() => { this.restoring = undefined; });
    return this.restoring;
  }

  private async restore(old: Live | undefined): Promise<Live> {
    const loaded = this.loaded;
    if (!loaded) throw new InputError('model', 'no model is loaded: call load() first');
    // A device the caller passed in cannot be re-created: continue on one of our own.
    const gpu = this.request.gpu ?? old?.ctx.gpu;
    if (old) this.release(old);
    this.live = undefined;
    const opened = await openDevice({ gpu });
    let live: Live;
    try {
      ({ live } = await this.build(opened, { ...loaded.request, weights: loaded.file, sha256: loaded.summary.source.sha256, cache: false }));
    } catch (e) {
      closeDevice(opened);
      throw e;
    }
    if (this.disposed) {
      this.release(live);
      throw new DisposedError('the classifier was disposed');
    }
    this.live = live;
    return live;
  }

  /** The device and a plan for `batch` images; a device lost before anything was submitted is replaced, not reported. */
  private async ready(batch: number): Promise<Live> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.device();
      try {
        await this.planFor(live, batch);
        if (!live.ctx.loss.lost) return live;
      } catch (e) {
        if (!live.ctx.loss.lost) throw e;
      }
      if (attempt === 2) throw live.ctx.loss.error();
    }
  }

  /**
   * Encodes preprocessing + forward for a batch and queues the readbacks. Nothing
   * in here awaits, so the commands of concurrent calls, which share the plan's
   * buffers, are queued whole, one call after the other (and no other call can
   * evict the plan between taking it and submitting).
   */
  private submit(live: Live, images: EngineImage[], o: InferOptions): { plan: ForwardPlan; reads: Promise<[Float32Array, Float32Array | undefined, number | undefined]>; free: () => void } {
    const { ctx, lut, vim, model } = live, { device } = ctx, s = model.size;
    const plan = vim.plan(images.length, s, s, model.stride);
    const frees: Array<() => void> = [];
    const free = () => frees.splice(0).forEach((f) => f());
    try {
      const encoder = device.createCommandEncoder({ label: 'vim.classify' });
      images.forEach((img, slot) => {
        if (img.kind === 'tensor') {
          device.queue.writeBuffer(plan.act.image, slot * 3 * s * s * 4, img.data.buffer, img.data.byteOffset, img.data.byteLength);
        } else {
          frees.push(encodePreprocess(ctx, encoder, img, { image: plan.act.image, slot, size: s, lut }));
        }
      });
      const stamps = vim.encodeForward(encoder, plan, o.timed ?? false);
      device.queue.submit([encoder.finish()]);
      const reads = Promise.all([
        readBuffer(device, plan.act.logits, plan.sizes.logits),
        o.features ? readBuffer(device, plan.act.normed, plan.sizes.normed) : undefined,
        stamps && readPassMs(stamps),
      ]);
      return { plan, reads, free };
    } catch (e) {
      free();
      throw e;
    }
  }

  private async run(images: EngineImage[], o: InferOptions): Promise<PassOutput> {
    const live = await this.ready(images.length);
    throwIfAborted(o.signal);
    const { plan, reads, free } = this.submit(live, images, o);
    try {
      const [logits, tokens, gpuMs] = await raceAbort(live.ctx.loss.watch(reads), o.signal);
      return { logits, tokens, geometry: plan.geometry, gpuMs };
    } catch (e) {
      if (e instanceof DeviceLostError) throw new DeviceLostError(`${e.message} during this call; the next call creates a new device and uploads the weights again: retry`);
      throw e;
    } finally {
      // After an abort the GPU may still use the temporaries: free them when it is done.
      reads.then(free, free);
    }
  }

  async infer(images: readonly ImageInput[], o: InferOptions = {}): Promise<InferResult> {
    this.assertLive();
    await this.loading;
    const loaded = this.loaded;
    if (!loaded) throw new InputError('model', 'no model is loaded: call load() first');
    const { config, size } = loaded.summary;
    const prepared = await prepareImages(images, size, o.signal);
    try {
      const passes: PassOutput[] = [];
      for (const chunk of chunks(prepared.map((p) => p.image), loaded.request.maxBatch)) passes.push(await this.run(chunk, o));
      return inferResult(passes, config.numClasses, config.embedDim, o);
    } finally {
      prepared.forEach((p) => p.release());
    }
  }

  async info(): Promise<EngineInfo> {
    const ctx = this.live?.ctx;
    return {
      backend: 'webgpu', adapter: ctx ? { ...ctx.adapterInfo } : null,
      memoryBytes: ctx?.buffers.bytesInUse ?? 0, buffers: ctx?.buffers.liveCount ?? 0,
    };
  }

  private freeModel(live: Live): void {
    live.vim.dispose();
    live.ctx.buffers.destroy(live.lut);
  }

  private release(live: Live): void {
    this.freeModel(live);
    closeDevice(live);
  }

  private assertLive(): void {
    if (this.disposed) throw new DisposedError('the engine was disposed');
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.restoring?.catch(() => undefined);
    if (this.live) this.release(this.live);
    this.live = undefined;
    this.loaded = undefined;
  }
}
