// The bidirectional selective scan of one Vim layer: y = ½(o_fwd + o_bwd) with
// o = (C·h + D·u)·SiLU(z) (docs/model.md §2.4 f–i). Two implementations:
//  - 'chunked' (default): tiled and chunk-parallel, src/ops/scan-chunked.ts;
//  - 'sequential': one invocation per (image, channel), the readable baseline.
import type { GpuContext } from '../gpu/context.js';
import type { Dispatch } from '../gpu/dispatch.js';
import { chunkedScanDispatches, chunkedScanScratchBytes, defaultScanChunk, type ScanReduction } from './scan-chunked.js';
import { sequentialScanDispatches, type ScanArgs } from './scan-sequential.js';

export type { ScanArgs } from './scan-sequential.js';
export { chunkedScanScratchBytes, defaultScanChunk, type ScanReduction } from './scan-chunked.js';

export type ScanKind = 'chunked' | 'sequential';

export interface ScanOptions {
  kind?: ScanKind;
  /**
   * Summary scratch for the chunked scan (chunkedScanScratchBytes bytes). When
   * absent, one is created in ctx.buffers; a graph runner should pass its own.
   */
  scratch?: GPUBuffer;
  /** Tokens per chunk of the chunked scan (default defaultScanChunk(B, L)). */
  chunk?: number;
  /** Channels per workgroup of the chunked scan, a power of two (default: chosen from the device limits). */
  tile?: number;
  /** C·h reduction of the chunked scan (default: chosen from the device). */
  reduction?: ScanReduction;
}

/** Scratch bytes a scan of this kind needs (0 for the sequential scan). */
export function scanScratchBytes(kind: ScanKind, B: number, L: number, E: number, N: number, chunk = defaultScanChunk(B, L)): number {
  return kind === 'sequential' ? 0 : chunkedScanScratchBytes(B, L, E, N, chunk);
}

export function scanDispatches(ctx: GpuContext, args: ScanArgs & ScanOptions): Dispatch[] {
  if (args.kind === 'sequential') return sequentialScanDispatches(ctx, args);
  const chunk = args.chunk ?? defaultScanChunk(args.B, args.L);
  const scratch = args.scratch
    ?? ctx.buffers.storage('scan:scratch', chunkedScanScratchBytes(args.B, args.L, args.E, args.N, chunk));
  return chunkedScanDispatches(ctx, { ...args, scratch, chunk });
}
