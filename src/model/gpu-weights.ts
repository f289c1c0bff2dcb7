// The model's weights on the GPU: which buffers exist, which checkpoint tensors
// fill each one and where, and the uploads. The two scan directions' tensors are
// stacked [forward, backward] so one dispatch serves both (the layout every
// kernel in src/ops expects). The Linear weights (in_proj, x_proj, dt_proj,
// out_proj, head) may stay f16 or int8 on the GPU, where the matmul expands
// them; every other buffer is f32. The layout is a plain list (weightSlots), so
// the streaming loader can create every buffer before the first byte arrives
// and write each tensor the moment it is complete.
import type { GpuContext } from '../gpu/context.js';
import type { StateDict } from '../tensor.js';
import { numel } from '../tensor.js';
import { expectedTensors, type VimConfig } from './config.js';
import type { WeightDType } from '../weights/weight-dtype.js';


/** A Linear weight (N, K) as the matmul reads it: elements of `type`, per-row f32 scales for int8. */
export interface GpuMatrix {
  buffer: GPUBuffer;
  type: WeightDType;
  scales?: GPUBuffer;
}

export interface LayerWeights {
  norm: GPUBuffer;
  inProj: GpuMatrix;
  /** (2, E, K) */ convWeight: GPUBuffer;
  /** (2, E) */ convBias: GPUBuffer;
  /** (2, R+2N, E) */ xProj: GpuMatrix;
  /** (2, E, R) */ dtProj: GpuMatrix;
  /** (2, E) */ dtBias: GPUBuffer;
  /** (2, E, N) */ aLog: GPUBuffer;
  /** (2, E) */ d: GPUBuffer;
  outProj: GpuMatrix;
}

export interface GpuWeights {
  patchWeight: GPUBuffer;
  patchBias: GPUBuffer;
  clsToken: GPUBuffer;
  posEmbed: GPUBuffer;
  layers: LayerWeights[];
  normF: GPUBuffer;
  head: GpuMatrix;
  headBias: GPUBuffer;
  /** Every buffer above, for dispose(). */
  all: GPUBuffer[];
}

/** Where one checkpoint tensor (or an int8 tensor's '<name>.scale') goes in its slot's buffer. */
export interface SlotPart {
  tensor: string;
  byteOffset: number;
  byteLength: number;
}

/** One GPU buffer of the model. */
export interface WeightSlot {
  /** Also the buffer's label: 'l3.x_proj', 'l3.x_proj.scales', 'head', ... */
  key: string;
  /** Element type of the buffer (scales and non-matrix buffers are f32). */
  type: WeightDType;
  byteLength: number;
  parts: SlotPart[];
}

const ITEM: Record<WeightDType, number> = { f32: 4, f16: 2, int8: 1 };
const SCALE = '.scale';

/**
 * Every buffer of a model with this config, given how each tensor is stored.
 * A matrix keeps its stored type on the GPU when all its parts agree and each
 * part starts on a 4-byte boundary (queue.writeBuffer's rule); otherwise it is
 * expanded to f32 on upload.
 */
export function weightSlots(cfg: VimConfig, storage: (tensor: string) => WeightDType = () => 'f32'): WeightSlot[] {
  const shapes = new Map(expectedTensors(cfg));
  const slots: WeightSlot[] = [];
  const add = (key: string, tensors: string[], matrix = false) => {
    const types = new Set(tensors.map(storage));
    let type: WeightDType = matrix && types.size === 1 ? [...types][0] : 'f32';
    const lengths = tensors.map((t) => numel(shapes.get(t)!) * ITEM[type]);
    if (lengths.slice(0, -1).some((n) => n % 4 !== 0)) type = 'f32';
    const item = ITEM[type];
    let at = 0;
    const parts = tensors.map((tensor) => {
      const part = { tensor, byteOffset: at, byteLength: numel(shapes.get(tensor)!) * item };
      at += part.byteLength;
      return part;
    });
    slots.push({ key, type, byteLength: at, parts });
    if (type === 'int8') {
      let s = 0;
      const scaleParts = tensors.map((t) => {
        const part = { tensor: t + SCALE, byteOffset: s, byteLength: shapes.get(t)![0] * 4 };
        s += part.byteLength;
        return part;
      });
      slots.push({ key: `${key}.scales`, type: 'f32', byteLength: s, parts: scaleParts });
    }
  };
  for (let l = 0; l < cfg.depth; l++) {
    const m = (k: string) => `layers.${l}.mixer.${k}`;
    add(`l${l}.norm`, [`layers.${l}.norm.weight`]);
    add(`l${l}.in_proj`, [m('in_proj.weight')], true);
    add(`l${l}.conv_w`, [m('conv1d.weight'), m('conv1d_b.weight')]);
    add(`l${l}.conv_b`, [m('conv1d.bias'), m('conv1d_b.bias')]);
    add(`l${l}.x_proj`, [m('x_proj.weight'), m('x_proj_b.weight')], true);
    add(`l${l}.dt_proj`, [m('dt_proj.weight'), m('dt_proj_b.weight')], true);
    add(`l${l}.dt_bias`, [m('dt_proj.bias'), m('dt_proj_b.bias')]);
    add(`l${l}.A_log`, [m('A_log'), m('A_b_log')]);
    add(`l${l}.D`, [m('D'), m('D_b')]);
    add(`l${l}.out_proj`, [m('out_proj.weight')], true);
  }
  add('patch_embed.weight', ['patch_embed.proj.weight']);
  add('patch_embed.bias', ['patch_embed.proj.bias']);
  add('cls_token', ['cls_token']);
  add('pos_embed', ['pos_embed']);
  add('norm_f', ['norm_f.weight']);
  add('head.weight', ['head.weight'], true);
  add('head.bias', ['head.bias']);
  return slots;
}

/** Creates the (unfilled) buffer of a slot; the caller registers it for cleanup. */
export function createSlotBuffer(ctx: GpuContext, slot: WeightSlot): GPUBuffer {
  return ctx.buffers.create(slot.key, slot.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
}

/** Builds the GpuWeights view of filled slot buffers (keyed by slot key). */
export function assembleWeights(cfg: VimConfig, slots: readonly WeightSlot[], buffers: ReadonlyMap<string, GPUBuffer>): GpuWeights {
  const types = new Map(slots.map((s) => [s.key, s.type]));
  const buf = (key: string): GPUBuffer => {
    const b = buffers.get(key);
    if (!b) throw new Error(`internal: weight buffer ${key} missing`);
    return b;
  };
  const mat = (key: string): GpuMatrix => {
    const type = types.get(key) ?? 'f32';
    return type === 'int8' ? { buffer: buf(key), type, scales: buf(`${key}.scales`) } : { buffer: buf(key), type };
  };
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.depth; l++) {
    layers.push({
      norm: buf(`l${l}.norm`), inProj: mat(`l${l}.in_proj`), convWeight: buf(`l${l}.conv_w`), convBias: buf(`l${l}.conv_b`),
      xProj: mat(`l${l}.x_proj`), dtProj: mat(`l${l}.dt_proj`), dtBias: buf(`l${l}.dt_bias`),
      aLog: buf(`l${l}.A_log`), d: buf(`l${l}.D`), outProj: mat(`l${l}.out_proj`),
    });
  }
  return {
    patchWeight: buf('patch_embed.weight'), patchBias: buf('patch_embed.bias'), clsToken: buf('cls_token'),
    posEmbed: buf('pos_embed'), layers, normF: buf('norm_f'), head: mat('head.weight'), headBias: buf('head.bias'),
    all: slots.map((s) => buf(s.key)),
  };
}

/** Uploads an f32 state dict (already validated against cfg). */
export function uploadWeights(ctx: GpuContext, sd: StateDict, cfg: VimConfig, posEmbed?: Float32Array): GpuWeights {
  const slots = weightSlots(cfg);
  const buffers = new Map<string, GPUBuffer>();
  try {
    for (const slot of slots) {
      const data = (tensor: string): Float32Array => {
        if (tensor === 'pos_embed' && posEmbed) return posEmbed;
        const t = sd.get(tensor);
        if (!t) throw new Error(`internal: tensor ${tensor} missing after validation`);
        return t.data;
      };
      // A replacement position table may have another row count than the checkpoint's.
      const size = slot.parts.reduce((n, p) => n + data(p.tensor).byteLength, 0);
      const buffer = ctx.buffers.create(slot.key, size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      buffers.set(slot.key, buffer);
      let at = 0;
      for (const p of slot.parts) {
        const d = data(p.tensor);
        ctx.device.queue.writeBuffer(buffer, at, d.buffer, d.byteOffset, d.byteLength);
        at += d.byteLength;
      }
    }
  } catch (e) {
    for (const b of buffers.values()) ctx.buffers.destroy(b);
    throw e;
  }
  return assembleWeights(cfg, slots, buffers);
}

/** Replaces the position table (another input size); the old buffer is destroyed. */
export function replacePosEmbed(ctx: GpuContext, w: GpuWeights, table: Float32Array): void {
  const next = ctx.buffers.upload('pos_embed', table);
  ctx.buffers.destroy(w.posEmbed);
  w.all[w.all.indexOf(w.posEmbed)] = next;
  w.posEmbed = next;
}

export function destroyWeights(ctx: GpuContext, w: GpuWeights): void {
  for (const b of w.all) ctx.buffers.destroy(b);
}
