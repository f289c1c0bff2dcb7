// The Vim forward pass on WebGPU (docs/model.md §2): patch embedding with the
// class token in the middle, 24 × [add + RMSNorm → in_proj → conv1d+SiLU (both
// directions) → x_proj → dt_proj+softplus → selective scan (both directions,
// gated, averaged) → out_proj], add + final RMSNorm, head on the class token.
// A block is four dispatches, each fusing what lies between two matmuls:
//   in_proj  with add + RMSNorm as its prologue,
//   x_proj   with conv1d + SiLU as its prologue (u is never written),
//   scan     with conv1d + SiLU and dt_proj + softplus in its staging (Δ is never
//            written), each direction's gated half into y2,
//   out_proj summing the two halves as it loads them.
// One command encoder per forward; only the logits are read back.
import type { GpuContext } from '../gpu/context.js';
import { encodeDispatches, releaseDispatches, type Dispatch } from '../gpu/dispatch.js';
import { readBuffer } from '../gpu/buffers.js';
import { PassTimer, readPassMs } from '../gpu/pass-timer.js';
import { checkBindingSize } from '../gpu/limits.js';
import { DisposedError, InputError } from '../errors.js';
import { checkFiniteInput, checkFiniteOutput } from './numerics.js';
import type { StateDict } from '../tensor.js';
import { geometry, inferStride, type Geometry, type VimConfig } from './config.js';
import { uploadWeights, destroyWeights, replacePosEmbed, type GpuMatrix, type GpuWeights, type LayerWeights } from './gpu-weights.js';
import { allocateActivations, type Activations, type ForwardPlan, type Stage } from './forward-plan.js';
import { patchEmbedDispatches } from '../ops/patch-embed.js';
import { rmsNormDispatch } from '../ops/rmsnorm.js';
import { matmulDispatch } from '../ops/matmul.js';
import { chooseScanSchedule, scanConstantsDispatch, scanConstantsStride, scanDispatches, scanScratchBytes, type ScanSchedule } from '../ops/scan.js';

export interface VimGpuOptions {
  /** The scan's schedule (default: chosen per shape by chooseScanSchedule). */
  scan?: ScanSchedule;
  /** Replacement position table (other resolutions); defaults to the checkpoint's. */
  posEmbed?: Float32Array;
  /** Time forwardTimed() and forwardWithFeatures() on the GPU where the device has 'timestamp-query' (default true). */
  timing?: boolean;
  /**
   * Plans (activation buffers for one batch and input size) kept at most; the one
   * used longest ago is freed to make room (default DEFAULT_MAX_PLANS). A caller
   * must take a plan and submit its work with no await in between (engines do).
   */
  maxPlans?: number;
}

/** A few shapes in use at once (a batch and its remainder, a features call) without unbounded growth. */
export const DEFAULT_MAX_PLANS = 4;

/** Logits (B × classes), and the forward pass's GPU time where it was measured. */
export interface ForwardResult {
  logits: Float32Array;
  gpuMs?: number;
}

/**
 * The stages of a forward cut into command buffers: the first small (the
 * embedding and two layers), so the GPU starts early; then about a third of the
 * rest each, so the number of submits stays small.
 */
export function submitGroups(stages: readonly Stage[]): Stage[][] {
  const cuts = [Math.min(3, stages.length)];
  const rest = stages.length - cuts[0];
  for (const f of [1 / 3, 2 / 3]) {
    const at = cuts[0] + Math.round(rest * f);
    if (at > cuts[cuts.length - 1] && at < stages.length) cuts.push(at);
  }
  const groups: Stage[][] = [];
  let from = 0;
  for (const to of [...cuts, stages.length]) {
    if (to > from) groups.push(stages.slice(from, to));
    from = to;
  }
  return groups;
}

/** A weight matrix as matmulDispatch takes it (stacked pairs: scales of group g at g·N). */
function matrix(m: GpuMatrix): { w: GPUBuffer; wType: GpuMatrix['type']; scales?: GPUBuffer } {
  return { w: m.buffer, wType: m.type, scales: m.scales };
}

export class VimGpu {
  private readonly weights: GpuWeights;
  /**
   * Per layer: the scan's packed per-channel constants (src/ops/scan-constants.ts),
   * made with the first plan and filled by the first forward encoded after it:
   * a streaming loader builds the model (and a plan) while the weights are still
   * being written, so packing them any earlier would pack garbage.
   */
  private scanConsts?: { buffers: GPUBuffer[]; pack: Dispatch[]; encoded: boolean };
  private readonly plans = new Map<string, ForwardPlan>();
  private disposed = false;
  /** Made on the first timed forward. */
  private timer?: PassTimer;
  /**
   * From a host state dict (uploaded as f32), or from weights already on the GPU
   * (the streaming loader's, possibly f16/int8), which the model then owns.
   */
  constructor(readonly ctx: GpuContext, readonly config: VimConfig, weights: StateDict | GpuWeights, readonly options: VimGpuOptions = {}) {
    if (weights instanceof Map) {
      this.weights = uploadWeights(ctx, weights, config, options.posEmbed);
    } else {
      this.weights = weights;
      if (options.posEmbed) replacePosEmbed(ctx, weights, options.posEmbed);
    }
    this.checkWeightBindings();
  }

  /** The stride this model uses at an input size (the one its position table fits). */
  strideFor(height: number, width: number, stride?: number): number {
    const s = stride ?? inferStride(this.config, height, width);
    if (s === undefined) {
      throw new InputError('input', `no patch stride makes a ${height}x${width} input fit the ${this.config.posRows}-row position table`);
    }
    const g = geometry(this.config, height, width, s);
    if (g.tokens !== this.config.posRows) {
      throw new InputError('input', `a ${height}x${width} input with stride ${s} has ${g.tokens} tokens, the position table has ${this.config.posRows} rows`);
    }
    return s;
  }

  plan(batch: number, height: number, width: number, stride?: number): ForwardPlan {
    // Before anything is allocated: a plan made after dispose() would never be freed.
    this.assertLive();
    const s = this.strideFor(height, width, stride);
    const key = `${batch}:${height}x${width}:${s}`;
    let plan = this.plans.get(key);
    if (plan) {
      this.plans.delete(key); // re-inserted last: the Map's order is the order of use
    } else {
      plan = this.buildPlan(batch, geometry(this.config, height, width, s));
      this.evictFor(1);
    }
    this.plans.set(key, plan);
    return plan;
  }

  /** The packed scan constants' buffers, and the dispatches that will fill them. */
  private scanConstants(): GPUBuffer[] {
    if (this.scanConsts) return this.scanConsts.buffers;
    const c = this.config, E = c.dInner, N = c.dState, R = c.dtRank, K = c.dConv;
    const buffers = this.weights.layers.map((_, l) => this.ctx.buffers.storage(`l${l}.scan_consts`, 2 * E * scanConstantsStride(K, N, R) * 4));
    const pack = this.weights.layers.map((w, l) => scanConstantsDispatch(this.ctx, {
      convWeight: w.convWeight, convBias: w.convBias, dtWeight: w.dtProj.buffer, dtType: w.dtProj.type, dtScales: w.dtProj.scales,
      dtBias: w.dtBias, aLog: w.aLog, d: w.d, packed: buffers[l], E, N, R, taps: K, label: `l${l}.scan_consts`,
    }));
    this.scanConsts = { buffers, pack, encoded: false };
    return buffers;
  }

  /** Encodes the packing of the scan constants if no forward has done it yet (see scanConsts). */
  private encodePending(pass: GPUComputePassEncoder): void {
    const sc = this.scanConsts;
    if (!sc || sc.encoded) return;
    encodeDispatches(pass, sc.pack);
    sc.encoded = true;
  }

  /** Frees the plans used longest ago until `room` more fit. Work already submitted with them still completes (WebGPU defers the free). */
  private evictFor(room: number): void {
    const max = Math.max(1, this.options.maxPlans ?? DEFAULT_MAX_PLANS);
    for (const [key, old] of this.plans) {
      if (this.plans.size + room <= max) break;
      this.plans.delete(key);
      this.freePlan(old);
    }
  }

  private freePlan(p: ForwardPlan): void {
    for (const b of p.buffers) this.ctx.buffers.destroy(b);
    for (const s of p.stages) releaseDispatches(this.ctx, s.dispatches);
  }

  /** Plans held now (tests of the bound). */
  get planCount(): number { return this.plans.size; }

  private buildPlan(batch: number, g: Geometry): ForwardPlan {
    const c = this.config;
    const scan = this.options.scan ?? chooseScanSchedule(batch, g.tokens, c.dInner);
    const scratch = scanScratchBytes(scan, batch, g.tokens, c.dInner, c.dState);
    const { act, buffers, bytes, sizes } = allocateActivations(this.ctx, c, g, batch, scratch);
    // Layer l ≥ 1 reads the residual of layer l − 1 and writes its own to the other buffer.
    const residualOf = (l: number) => (l % 2 === 0 ? act.residual : act.residualAlt);
    const last = residualOf(c.depth - 1);
    const stages: Stage[] = [
      { name: 'embed', layer: -1, dispatches: this.embed(act, batch, g), residual: act.residual },
      ...this.weights.layers.map((w, l) => ({
        name: 'layer' as const, layer: l, residual: residualOf(l),
        dispatches: this.block(act, w, l, batch, g, scan, l === 0 ? undefined : residualOf(l - 1), residualOf(l)),
      })),
      { name: 'final', layer: c.depth, dispatches: this.finalNormAndHead(act, last, batch, g), residual: last },
    ];
    return { batch, geometry: g, act, stages, bytes, sizes, buffers };
  }

  /** Patches → tokens with the class token at M//2, plus position embeddings. */
  private embed(a: Activations, batch: number, g: Geometry): Dispatch[] {
    const c = this.config, w = this.weights;
    return patchEmbedDispatches(this.ctx, {
      image: a.image, weight: w.patchWeight, bias: w.patchBias, clsToken: w.clsToken, posEmbed: w.posEmbed,
      tokens: a.residual, B: batch, H: g.height, W: g.width, D: c.embedDim, P: c.patchSize, stride: g.stride,
    });
  }

  /**
   * One Vim block: residual = residual_in + hidden (layer 0: the tokens);
   * hidden = Mixer(RMSNorm(residual)). `residualIn` is absent for layer 0.
   */
  private block(a: Activations, w: LayerWeights, l: number, batch: number, g: Geometry, scan: ScanSchedule,
    residualIn: GPUBuffer | undefined, residual: GPUBuffer): Dispatch[] {
    const c = this.ctx, cfg = this.config;
    const B = batch, L = g.tokens, D = cfg.embedDim, E = cfg.dInner, N = cfg.dState, R = cfg.dtRank, K = cfg.dConv;
    const rows = B * L, XD = R + 2 * N;
    const norm = residualIn
      ? { kind: 'rmsnorm' as const, weight: w.norm, eps: cfg.normEps, hidden: a.hidden, residualOut: residual }
      : { kind: 'rmsnorm' as const, weight: w.norm, eps: cfg.normEps };
    return [
      matmulDispatch(c, { x: residualIn ?? residual, ...matrix(w.inProj), y: a.xz, M: rows, N: 2 * E, K: D, prologue: norm, label: `l${l}.in_proj` }),
      matmulDispatch(c, {
        x: a.xz, ...matrix(w.xProj), y: a.xdbl, M: rows, N: XD, K: E, lda: 2 * E, label: `l${l}.x_proj`,
        prologue: { kind: 'conv-silu', weight: w.convWeight, bias: w.convBias, seq: L, taps: K },
        groups: 2, groupStrideX: 0, groupStrideW: XD * E, groupStrideY: rows * XD,
      }),
      ...scanDispatches(c, {
        xz: a.xz, xdbl: a.xdbl, consts: this.scanConstants()[l], y2: a.y2, scratch: a.scanScratch,
        B, L, E, N, R, taps: K, schedule: scan, label: `l${l}.scan`,
      }),
      matmulDispatch(c, { x: a.y2, ...matrix(w.outProj), y: a.hidden, M: rows, N: D, K: E, prologue: { kind: 'sum2', pair: rows * E }, label: `l${l}.out_proj` }),
    ];
  }

  /** residual + last hidden → final RMSNorm; head on the class-token row of each image. */
  private finalNormAndHead(a: Activations, residual: GPUBuffer, batch: number, g: Geometry): Dispatch[] {
    const c = this.ctx, cfg = this.config, w = this.weights;
    const L = g.tokens, D = cfg.embedDim;
    return [
      rmsNormDispatch(c, { residual, hidden: a.hidden, weight: w.normF, normed: a.normed, rows: batch * L, dim: D, eps: cfg.normEps, label: 'norm_f' }),
      matmulDispatch(c, {
        x: a.normed, ...matrix(w.head), y: a.logits, bias: w.headBias, M: batch, N: cfg.numClasses, K: D,
        lda: L * D, xOffset: g.clsIndex * D, epilogue: 'bias', label: 'head',
      }),
    ];
  }

  /** Checks the input images (B, 3, H, W) and writes them into the plan's image buffer (submit does this first). */
  writeInput(plan: ForwardPlan, input: Float32Array): void {
    const g = plan.geometry, want = plan.batch * 3 * g.height * g.width;
    if (input.length !== want) {
      throw new InputError('input', `expected ${want} floats for (${plan.batch}, 3, ${g.height}, ${g.width}), got ${input.length}`);
    }
    checkFiniteInput(input, g.height, g.width);
    this.ctx.device.queue.writeBuffer(plan.act.image, 0, input.buffer, input.byteOffset, input.byteLength);
  }

  /**
   * Encodes the forward pass as one compute pass. `timed` (and timing on, and the
   * feature present): its beginning and end are stamped and the stamps copied out
   * in `enc`; the returned buffer goes to readPassMs once `enc` is submitted.
   */
  encodeForward(enc: GPUCommandEncoder, plan: ForwardPlan, timed = false): GPUBuffer | undefined {
    const timer = timed ? this.passTimer() : undefined;
    this.encodePass(enc, plan.stages, 'vim.forward', timer?.writesFor(true, true));
    return timer?.resolve(enc);
  }

  /** One compute pass over `stages`, after the scan constants' packing if no forward has encoded it yet. */
  private encodePass(enc: GPUCommandEncoder, stages: readonly Stage[], label: string, timestampWrites?: GPUComputePassTimestampWrites): void {
    const pass = enc.beginComputePass(timestampWrites ? { label, timestampWrites } : { label });
    this.encodePending(pass);
    for (const stage of stages) encodeDispatches(pass, stage.dispatches);
    pass.end();
  }

  private passTimer(): PassTimer | undefined {
    if (this.options.timing === false || !this.ctx.features.timestampQuery) return undefined;
    return this.timer ??= new PassTimer(this.ctx);
  }

  /**
   * Encodes the forward pass and submits it in a few command buffers, so the GPU
   * starts on the first layers while the CPU still encodes the rest (encoding is
   * a few µs per dispatch). `timed`: as encodeForward, from the beginning of the
   * first pass to the end of the last.
   */
  submit(plan: ForwardPlan, input: Float32Array, timed = false): GPUBuffer | undefined {
    this.assertLive();
    this.ctx.loss.check();
    this.writeInput(plan, input);
    const timer = timed ? this.passTimer() : undefined;
    const groups = submitGroups(plan.stages);
    let stamps: GPUBuffer | undefined;
    groups.forEach((stages, i) => {
      const first = i === 0, last = i === groups.length - 1;
      const enc = this.ctx.device.createCommandEncoder({ label: `vim.forward.${i}` });
      this.encodePass(enc, stages, `vim.forward.${i}`, timer?.writesFor(first, last));
      if (last && timer) stamps = timer.resolve(enc);
      this.ctx.device.queue.submit([enc.finish()]);
    });
    return stamps;
  }

  /**
   * Logits (B × classes) for preprocessed images (B, 3, H, W).
   *
   * Safe to call concurrently although calls of one shape share the plan's
   * buffers: everything a call puts on the queue (input write, forward pass,
   * logits copy) is queued before its first await, and the queue runs in
   * order, so the next call's input cannot overwrite this one's before its
   * logits are copied out. Keep it that way: no await before the readback is queued.
   */
  async forward(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<Float32Array> {
    return (await this.run(input, batch, height, width, stride, false)).logits;
  }

  /** forward(), plus the pass's GPU time where the device can measure it (same concurrency rules). */
  forwardTimed(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<ForwardResult> {
    return this.run(input, batch, height, width, stride, true);
  }

  private async run(input: Float32Array, batch: number, height: number, width: number, stride: number | undefined, timed: boolean): Promise<ForwardResult> {
    const plan = this.plan(batch, height, width, stride);
    const stamps = this.submit(plan, input, timed);
    const [logits, gpuMs] = await this.ctx.loss.watch(Promise.all([
      readBuffer(this.ctx.device, plan.act.logits, plan.sizes.logits),
      stamps && readPassMs(stamps),
    ]));
    return { logits: checkFiniteOutput(logits), gpuMs };
  }

  /**
   * Logits plus the final-normed tokens (B, L, D): the class token at
   * geometry.clsIndex is the head's input, the others are dense patch features.
   */
  async forwardWithFeatures(input: Float32Array, batch: number, height: number, width: number, stride?: number): Promise<ForwardResult & { tokens: Float32Array; geometry: Geometry }> {
    const plan = this.plan(batch, height, width, stride);
    const stamps = this.submit(plan, input, true);
    const [logits, tokens, gpuMs] = await this.ctx.loss.watch(Promise.all([
      readBuffer(this.ctx.device, plan.act.logits, plan.sizes.logits),
      readBuffer(this.ctx.device, plan.act.normed, plan.sizes.normed),
      stamps && readPassMs(stamps),
    ]));
    return { logits: checkFiniteOutput(logits), tokens, geometry: plan.geometry, gpuMs };
  }

  /**
   * Runs stage by stage and lets the caller read activations after each one
   * (tests compare every layer's residual and hidden with the fixtures).
   */
  async trace(input: Float32Array, batch: number, height: number, width: number,
    onStage: (stage: Stage, read: (name: keyof Activations) => Promise<Float32Array>) => Promise<void>, stride?: number): Promise<Float32Array> {
    const plan = this.plan(batch, height, width, stride);
    this.writeInput(plan, input);
    for (const stage of plan.stages) {
      const enc = this.ctx.device.createCommandEncoder();
      this.encodePass(enc, [stage], `vim.trace.${stage.name}`);
      this.ctx.device.queue.submit([enc.finish()]);
      // 'residual' means the residual stream after this stage, wherever it is.
      await onStage(stage, (name) => readBuffer(this.ctx.device, name === 'residual' ? stage.residual : plan.act[name], plan.sizes[name]));
    }
    return readBuffer(this.ctx.device, plan.act.logits, plan.sizes.logits);
  }

  /** Frees the activation buffers of every plan, and the scan constants made with them (weights stay). */
  releasePlans(): void {
    for (const p of this.plans.values()) this.freePlan(p);
    this.plans.clear();
    if (this.scanConsts) {
      for (const b of this.scanConsts.buffers) this.ctx.buffers.destroy(b);
      releaseDispatches(this.ctx, this.scanConsts.pack);
      this.scanConsts = undefined;
    }
  }

  /** Destroys every GPU buffer this model created. The context stays usable. */
  dispose(): void {
    if (this.disposed) return;
    this.releasePlans();
    this.timer?.destroy();
    this.timer = undefined;
    destroyWeights(this.ctx, this.weights);
    this.disposed = true;
  }

  /**
   * Every weight buffer is bound whole; one over the binding limit would make
   * WebGPU skip the dispatches that read it (a validation error, not an
   * exception) and the logits would be whatever the buffer held before.
   */
  private checkWeightBindings(): void {
    try {
      for (const b of this.weights.all) checkBindingSize(this.ctx, b.size, `the weight buffer '${b.label}'`, 'this model cannot run here');
    } catch (e) {
      destroyWeights(this.ctx, this.weights);
      this.disposed = true;
      throw e;
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new DisposedError('VimGpu: used after dispose()');
  }
}
