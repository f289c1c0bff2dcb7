// The static activation plan of one (batch, input size): every activation
// buffer is allocated once and reused by all 24 layers, and every dispatch
// (with its bind group) is built once; a forward pass then only encodes them.
import type { GpuContext } from '../gpu/context.js';
import type { Dispatch } from '../gpu/dispatch.js';
import { LimitExceededError } from '../errors.js';
import type { Geometry, VimConfig } from './config.js';

export interface Activations {
  image: GPUBuffer;     // (B, 3, H, W)
  residual: GPUBuffer;  // (B, L, D)
  hidden: GPUBuffer;    // (B, L, D)
  normed: GPUBuffer;    // (B, L, D)
  xz: GPUBuffer;        // (B, L, 2E)
  u: GPUBuffer;         // (2, B, L, E)
  xdbl: GPUBuffer;      // (2, B, L, R+2N)
  delta: GPUBuffer;     // (2, B, L, E)
  y: GPUBuffer;         // (B, L, E)
  scanScratch: GPUBuffer;
  logits: GPUBuffer;    // (B, classes)
}

/** A named group of dispatches: a whole layer, the embedding, the head. */
export interface Stage {
  name: 'embed' | 'layer' | 'final';
  layer: number;
  dispatches: Dispatch[];
}

export interface ForwardPlan {
  batch: number;
  geometry: Geometry;
  act: Activations;
  stages: Stage[];
  /** Bytes of all activation buffers of this plan. */
  bytes: number;
  /** Logical byte size of each activation (buffers may be padded). */
  sizes: Record<keyof Activations, number>;
  buffers: GPUBuffer[];
}

export function allocateActivations(ctx: GpuContext, cfg: VimConfig, g: Geometry, batch: number, scratchBytes: number): { act: Activations; buffers: GPUBuffer[]; bytes: number; sizes: Record<keyof Activations, number> } {
  const B = batch, L = g.tokens, D = cfg.embedDim, E = cfg.dInner, N = cfg.dState, R = cfg.dtRank;
  const f32 = 4;
  const sizes: Record<keyof Activations, number> = {
    image: B * 3 * g.height * g.width * f32,
    residual: B * L * D * f32,
    hidden: B * L * D * f32,
    normed: B * L * D * f32,
    xz: B * L * 2 * E * f32,
    u: 2 * B * L * E * f32,
    xdbl: 2 * B * L * (R + 2 * N) * f32,
    delta: 2 * B * L * E * f32,
    y: B * L * E * f32,
    scanScratch: scratchBytes,
    logits: B * cfg.numClasses * f32,
  };
  const maxBinding = ctx.device.limits.maxStorageBufferBindingSize;
  for (const [name, size] of Object.entries(sizes)) {
    if (size > maxBinding) {
      throw new LimitExceededError('maxStorageBufferBindingSize', size, maxBinding,
        `the '${name}' activation of batch ${B} at ${g.height}x${g.width} is too large for this adapter; use a smaller batch or resolution`);
    }
  }
  const buffers: GPUBuffer[] = [];
  const act = {} as Activations;
  let bytes = 0;
  for (const [name, size] of Object.entries(sizes) as Array<[keyof Activations, number]>) {
    const b = ctx.buffers.storage(`act.${name}`, size);
    act[name] = b;
    buffers.push(b);
    bytes += b.size;
  }
  return { act, buffers, bytes, sizes };
}
