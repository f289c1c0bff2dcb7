// The WebGPU engine in the calling thread: one device, the model's weights on
// it, and per call one command buffer that preprocesses the images straight
// into the model's input buffer and runs the forward pass.
//
// Device loss: `device.lost` marks the device dead and rejects the calls
// waiting on it with DeviceLostError; the next call acquires a new device and
// uploads the weights again from the host copy, so callers just retry.
import { DeviceLostError, DisposedError, LimitExceededError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import { readBuffer } from '../gpu/buffers.js';
import { readPassMs } from '../gpu/pass-timer.js';
import type { ForwardPlan } from '../model/forward-plan.js';
import { VimGpu } from '../model/vim-gpu.js';
import { createNormalizeLut, encodePreprocess, PREPROCESS_KERNELS } from '../ops/preprocess.js';
import { allocating, closeDevice, looksLikeDeviceLoss, openDevice, type DeviceRequest, type OpenedDevice } from './device.js';
import type { Engine, EngineFeatures, EngineImage, EngineOutput, EngineInfo, LoadRequest, ModelSummary } from './engine.js';
import { raceAbort, throwIfAborted } from './errors.js';
import type { ModelAtResolution } from './resolution.js';
import { hostSummary, loadHostWeights, progressReporter, type HostWeights } from './weights.js';

/** Logits, tokens (when asked for) and the forward's GPU time (where measured). */
type Readback = [Float32Array, Float32Array | undefined, number | undefined];

interface Live extends OpenedDevice {
  vim: VimGpu;
  lut: GPUBuffer;
  lost: boolean;
  lostMessage: string;
  /** Rejecters of the calls waiting on this device, told when it is lost. */
  waiters: Set<(e: Error) => void>;
}

/** Buffers larger than these limits cannot be bound; say which limit before WebGPU fails quietly. */
function checkWeightLimits(ctx: GpuContext, host: HostWeights): void {
  const { maxStorageBufferBindingSize: binding, maxBufferSize: buffer } = ctx.device.limits;
  for (const [name, t] of host.tensors) {
    // The two scan directions' tensors are stacked into one buffer.
    const bytes = t.data.byteLength * (name.includes('.mixer.') ? 2 : 1);
    if (bytes > buffer) throw new LimitExceededError('maxBufferSize', bytes, buffer, `tensor '${name}' does not fit in one buffer on this adapter`);
    if (bytes > binding) throw new LimitExceededError('maxStorageBufferBindingSize', bytes, binding, `tensor '${name}' cannot be bound on this adapter`);
  }
}

export class GpuEngine implements Engine {
  readonly backend = 'webgpu' as const;
  private live?: Live;
  private restoring?: Promise<Live>;
  private host?: HostWeights;
  private model?: ModelAtResolution;
  private disposed = false;

  constructor(private readonly request: DeviceRequest) {}

  async load(req: LoadRequest): Promise<ModelSummary> {
    // The device first: a machine without WebGPU fails before any download.
    const opened = await openDevice(this.request);
    try {
      throwIfAborted(req.signal);
      const host = await loadHostWeights(req.weights, req.onProgress, req.signal);
      const { model, summary } = hostSummary(host, req);
      checkWeightLimits(opened.ctx, host);
      const report = progressReporter(req.onProgress);
      report({ phase: 'upload', loadedBytes: 0, totalBytes: host.bytes });
      this.host = host;
      this.model = model;
      this.live = await raceAbort(this.build(opened, model, host), req.signal);
      report({ phase: 'ready', loadedBytes: host.bytes, totalBytes: host.bytes });
      return summary;
    } catch (e) {
      if (this.live) this.release(this.live);
      else closeDevice(opened);
      this.live = undefined;
      throw e;
    }
  }

  /** Weights, normalization table and the batch-1 plan on a device; loss watched from here on. */
  private async build(opened: OpenedDevice, model: ModelAtResolution, host: HostWeights): Promise<Live> {
    const { ctx } = opened;
    const vim = await allocating(ctx.device, 'the model weights', () => host.bytes,
      () => new VimGpu(ctx, model.config, host.tensors, { posEmbed: model.posEmbed }), (v) => v.dispose());
    const live: Live = { ...opened, vim, lut: createNormalizeLut(ctx), lost: false, lostMessage: '', waiters: new Set() };
    ctx.device.lost.then((info) => {
      live.lost = true;
      live.lostMessage = info.message || info.reason;
      for (const reject of live.waiters) reject(this.lostError(live));
      live.waiters.clear();
    });
    try {
      await ctx.pipelines.warm([...PREPROCESS_KERNELS]);
      await this.planFor(live, 1); // activations for one image now: a limit or OOM fails the load, not the first call
    } catch (e) {
      this.release(live);
      throw e;
    }
    return live;
  }

  private planFor(live: Live, batch: number): Promise<ForwardPlan> {
    const m = this.model!;
    return allocating(live.ctx.device, `activations for a batch of ${batch} at ${m.size}x${m.size}`, () => undefined,
      () => live.vim.plan(batch, m.size, m.size, m.stride));
  }

  private lostError(live: Live): DeviceLostError {
    return new DeviceLostError(`the GPU device was lost during this call (${live.lostMessage || 'no reason given'}); ` +
      'the next call re-creates it and uploads the weights again');
  }

  /** The current device, or a new one after a loss (one restore shared by concurrent callers). */
  private device(): Promise<Live> {
    if (this.disposed) return Promise.reject(new DisposedError('the classifier was disposed'));
    const live = this.live;
    if (live && !live.lost) return Promise.resolve(live);
    this.restoring ??= this.restore(live).finally(() => { this.restoring = undefined; });
    return this.restoring;
  }

  private async restore(old: Live | undefined): Promise<Live> {
    // A device the caller passed in cannot be re-created: continue on one of our own.
    const gpu = this.request.gpu ?? old?.ctx.gpu;
    if (old) this.release(old);
    this.live = undefined;
    const opened = await openDevice({ gpu });
    let live: Live;
    try {
      live = await this.build(opened, this.model!, this.host!);
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

  /**
   * Encodes preprocessing + forward for a batch and queues the readbacks. Nothing
   * in here awaits, so the commands of concurrent calls, which share the plan's
   * buffers, are queued whole, one call after the other.
   */
  private submit(live: Live, plan: ForwardPlan, images: EngineImage[], withTokens: boolean): { reads: Promise<Readback>; free: () => void } {
    const { ctx, lut } = live, { device } = ctx, s = this.model!.size;
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
      const stamps = live.vim.encodeForward(encoder, plan, true);
      device.queue.submit([encoder.finish()]);
      const reads = Promise.all([
        readBuffer(device, plan.act.logits, plan.sizes.logits),
        withTokens ? readBuffer(device, plan.act.normed, plan.sizes.normed) : undefined,
        stamps && readPassMs(stamps),
      ]);
      return { reads, free };
    } catch (e) {
      free();
      throw e;
    }
  }

  /** Settles with `work`, or rejects with DeviceLostError as soon as the device is lost. */
  private watch<T>(live: Live, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (live.lost) return reject(this.lostError(live));
      live.waiters.add(reject);
      work.then(resolve, (e: unknown) => {
        // Dawn rejects the readback before `lost` fires: the device is gone all the same.
        if (live.lost || looksLikeDeviceLoss(e)) {
          live.lost = true;
          reject(this.lostError(live));
        } else {
          reject(e);
        }
      }).finally(() => live.waiters.delete(reject));
    });
  }

  /** The device and a plan for `batch` images; a device lost before anything was submitted is replaced, not reported. */
  private async ready(batch: number): Promise<[Live, ForwardPlan]> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.device();
      try {
        const plan = await this.planFor(live, batch);
        if (!live.lost) return [live, plan];
      } catch (e) {
        if (!live.lost) throw e;
      }
      if (attempt === 2) throw this.lostError(live);
    }
  }

  private async run(images: EngineImage[], withTokens: boolean, signal?: AbortSignal): Promise<EngineFeatures> {
    const [live, plan] = await this.ready(images.length);
    throwIfAborted(signal);
    const { reads, free } = this.submit(live, plan, images, withTokens);
    try {
      const [logits, tokens, gpuMs] = await raceAbort(this.watch(live, reads), signal);
      return { logits, tokens: tokens ?? new Float32Array(0), geometry: plan.geometry, gpuMs };
    } finally {
      // After an abort the GPU may still use the temporaries: free them when it is done.
      reads.then(free, free);
    }
  }

  async infer(images: EngineImage[], signal?: AbortSignal): Promise<EngineOutput> {
    const { logits, gpuMs } = await this.run(images, false, signal);
    return { logits, gpuMs };
  }

  features(image: EngineImage, signal?: AbortSignal): Promise<EngineFeatures> {
    return this.run([image], true, signal);
  }

  info(): EngineInfo {
    const ctx = this.live?.ctx;
    return { backend: 'webgpu', adapter: ctx ? { ...ctx.adapterInfo } : null, memoryBytes: ctx?.buffers.bytesInUse ?? 0 };
  }

  private release(live: Live): void {
    live.vim.dispose();
    live.ctx.buffers.destroy(live.lut);
    closeDevice(live);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.restoring?.catch(() => undefined);
    if (this.live) this.release(this.live);
    this.live = undefined;
  }
}
