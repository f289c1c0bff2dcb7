// Where the streaming loader writes a model's tensors: GPU buffers (the WebGPU
// engine) or host float32 arrays (the CPU reference engine). The loader reads,
// verifies and decodes a vim-webgpu file the same way for both; a target only
// says how each tensor is kept and where its bytes go.
import type { GpuContext } from '../gpu/context.js';
import { checkBindingSize } from '../gpu/limits.js';
import { expectedTensors, type VimConfig } from '../model/config.js';
import { assembleWeights, createSlotBuffer, weightSlots, type GpuWeights, type SlotPart, type WeightSlot } from '../model/gpu-weights.js';
import type { StateDict } from '../tensor.js';
import type { WeightDType } from './weight-dtype.js';

/** The buffers of one load, being filled. */
export interface WeightSink<W> {
  /** The weights as the model takes them (not to be read before the load resolves). */
  readonly weights: W;
  /** `data` holds at least part.byteLength bytes, padded with zeros to a multiple of 4. */
  write(slot: WeightSlot, part: SlotPart, data: Uint8Array): void;
  /** Frees everything of this load (it failed). */
  destroy(): void;
}

export interface WeightTarget<W> {
  /** Every buffer of a model with this config, given how each tensor is stored in the file. */
  layout(config: VimConfig, stored: (tensor: string) => WeightDType): WeightSlot[];
  /** Creates the (unfilled) buffers; throws a typed error when they cannot exist here. */
  allocate(config: VimConfig, slots: WeightSlot[], file: string): WeightSink<W>;
}

/** GPU buffers; f16/int8 matrices stay as stored (the matmul expands them). */
export function gpuTarget(ctx: GpuContext): WeightTarget<GpuWeights> {
  return {
    layout: (config, stored) => weightSlots(config, stored),
    allocate(config, slots, file) {
      for (const slot of slots) checkBindingSize(ctx, slot.byteLength, `weight buffer '${slot.key}' of ${file}`, 'this model cannot run here');
      const buffers = new Map<string, GPUBuffer>();
      const destroy = () => { for (const b of buffers.values()) ctx.buffers.destroy(b); };
      try {
        for (const slot of slots) buffers.set(slot.key, createSlotBuffer(ctx, slot));
      } catch (e) {
        destroy();
        throw e;
      }
      return {
        weights: assembleWeights(config, slots, buffers),
        write(slot, part, data) {
          ctx.device.queue.writeBuffer(buffers.get(slot.key)!, part.byteOffset, data.buffer, data.byteOffset, Math.ceil(part.byteLength / 4) * 4);
        },
        destroy,
      };
    },
  };
}

/** Host float32 arrays, one per tensor (f16/int8 expanded), as the reference forward reads them. */
export function hostTarget(): WeightTarget<StateDict> {
  return {
    layout: (config) => weightSlots(config), // every slot f32: the loader decodes every tensor
    allocate(config, slots) {
      const shapes = new Map(expectedTensors(config));
      const weights: StateDict = new Map();
      const bytes = new Map<string, Uint8Array>();
      for (const slot of slots) {
        const buffer = new ArrayBuffer(slot.byteLength);
        bytes.set(slot.key, new Uint8Array(buffer));
        for (const p of slot.parts) weights.set(p.tensor, { shape: shapes.get(p.tensor)!, data: new Float32Array(buffer, p.byteOffset, p.byteLength / 4) });
      }
      return {
        weights,
        write(slot, part, data) { bytes.get(slot.key)!.set(data.subarray(0, part.byteLength), part.byteOffset); },
        destroy() { weights.clear(); bytes.clear(); },
      };
    },
  };
}
