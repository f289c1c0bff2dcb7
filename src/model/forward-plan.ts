// The static activation plan of one (batch, input size): every activation
// buffer is allocated once and reused by all 24 layers, and every dispatch
// (with its bind group) is built once; a forward pass then only encodes them.
//
// Buffers that are never live at the same time share memory: the input images
// are only read by the patch embedding, before in_proj first writes xz, so
// `image` is the start of the xz buffer; the final norm's output is only written
// after the last scan has been read, so `normed` is the start of y2.
import type { GpuContext } from '../gpu/context.js';
import type { Dispatch } from '../gpu/dispatch.js';
import { checkBindingSize } from '../gpu/limits.js';
import type { Geometry, VimConfig } from './config.js';

export interface Activations {
  image: GPUBuffer;        // (B, 3, H, W), inside xz
  residual: GPUBuffer;     // (B, L, D): the tokens, then the residual of even layers
  residualAlt: GPUBuffer;  // (B, L, D): the residual of odd layers (in_proj reads one, writes the other)
  hidden: GPUBuffer;       // (B, L, D) mixer output
  normed: GPUBuffer;       // (B, L, D) final norm's output, inside y2
  xz: GPUBuffer;           // (B, L, 2E)
  xdbl: GPUBuffer;         // (2, B, L, R+2N)
  y2: GPUBuffer;           // (2, B, L, E): the scan's two gated halves
  scanScratch: GPUBuffer;  // chunk summaries of the 'chunked' scan schedule
  logits: GPUBuffer;       // (B, classes)
}

/** A named group of dispatches: a whole layer, the embedding, the head. */
export interface Stage {
  name: 'embed' | 'layer' | 'final';
  layer: number;
  dispatches: Dispatch[];
  /** The buffer holding the residual stream after this stage. */
  residual: GPUBuffer;
}

export interface ForwardPlan {
  batch: number;
  geometry: Geometry;
  act: Activations;
  stages: Stage[];
  /** Bytes of all activation buffers of this plan. */
  bytes: number;
  /** Logical byte size of each activation (buffers may be larger or shared). */
  sizes: Record<keyof Activations, number>;
  /** Each buffer once (shared ones are not repeated). */
  buffers: GPUBuffer[];
}

/** Which activation lives inside which: the host buffer is sized for both. */
const INSIDE: Partial<Record<keyof Activations, keyof Activations>> = { image: 'xz', normed: 'y2' };

export function allocateActivations(ctx: GpuContext, cfg: VimConfig, g: Geometry, batch: number, scratchBytes: number): { act: Activations; buffers: GPUBuffer[]; bytes: number; sizes: Record<keyof Activations, number> } {
  const B = batch, L = g.tokens, D = cfg.embedDim, E = cfg.dInner, N = cfg.dState, R = cfg.dtRank;
  const f32 = 4;
  const sizes: Record<keyof Activations, number> = {
    image: B * 3 * g.height * g.width * f32,
    residual: B * L * D * f32,
    residualAlt: B * L * D * f32,
    hidden: B * L * D * f32,
    normed: B * L * D * f32,
    xz: B * L * 2 * E * f32,
    xdbl: 2 * B * L * (R + 2 * N) * f32,
    y2: 2 * B * L * E * f32,
    // A buffer of at least 16 bytes even when the schedule needs none: bindings cannot be empty.
    scanScratch: Math.max(16, scratchBytes),
    logits: B * cfg.numClasses * f32,
  };
  const allocated = { ...sizes };
  for (const [inner, host] of Object.entries(INSIDE) as Array<[keyof Activations, keyof Activations]>) {
    allocated[host] = Math.max(allocated[host], sizes[inner]);
  }
  for (const [name, size] of Object.entries(allocated)) {
    checkBindingSize(ctx, size, `the '${name}' activation of batch ${B} at ${g.height}x${g.width}`, 'use a smaller batch or resolution');
  }
  const buffers: GPUBuffer[] = [];
  const act = {} as Activations;
  let bytes = 0;
  for (const [name, size] of Object.entries(allocated) as Array<[keyof Activations, number]>) {
    if (INSIDE[name]) continue;
    const b = ctx.buffers.storage(`act.${name}`, size);
    act[name] = b;
    buffers.push(b);
    bytes += b.size;
  }
  for (const [inner, host] of Object.entries(INSIDE) as Array<[keyof Activations, keyof Activations]>) act[inner] = act[host];
  return { act, buffers, bytes, sizes };
}
