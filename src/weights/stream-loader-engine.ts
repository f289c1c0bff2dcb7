// A vim-webgpu file, arriving as a stream, straight into GPU buffers: the
// header is read and validated first; then every buffer is created; then each
// tensor is checked against its sha256 and for NaN/Inf, and written with
// queue.writeBuffer the moment its last byte has arrived, so only one tensor
// (plus the chunk in flight) is ever held. The whole file is hashed on the way
// (streaming SHA-256) for the caller's integrity check and the cache. Any
// failure (truncation, a lying header, a bad hash, a NaN, an abort) destroys
// every buffer of this load before the typed error reaches the caller: nothing
// half-loaded is ever usable.
import { IntegrityError, LimitExceededError, LoadAbortedError, VimError, WeightFetchError, WeightFormatError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import type { VimConfig } from '../model/config.js';
import { assembleWeights, createSlotBuffer, weightSlots, type GpuWeights, type SlotPart, type WeightSlot } from '../model/gpu-weights.js';
import { headerLength, parseEngineHeader, storageOf, SCALE_SUFFIX, type EngineEntry, type EngineHeader } from './format.js';
import { checkEntryFinite, decodeEntry, verifyEntry } from './format-read.js';
import { Sha256 } from './sha256.js';
import type { ByteStream } from './stream-loader-source.js';
import type { ProgressTracker } from './stream-loader-progress.js';

export interface LoadedWeights {
  config: VimConfig;
  /** On the GPU; owned by the caller (pass to VimGpu, or destroyWeights). */
  weights: GpuWeights;
  /** The checkpoint's position table in f32 (to interpolate for other input sizes). */
  posEmbed: Float32Array;
  /** sha256 of the whole vim-webgpu file, hex. */
  sha256: string;
  fileBytes: number;
  header: EngineHeader;
}

export interface EngineStreamOptions {
  signal?: AbortSignal;
  progress?: ProgressTracker;
  /** Expected sha256 (hex) of the whole file; IntegrityError when it differs. */
  sha256?: string;
  /**
   * Called once every buffer exists, before the first tensor arrives: the caller
   * may build its forward plan now, so pipelines compile while the bytes stream
   * in (the returned weights are the ones the load resolves with). Must not read
   * the buffers; if the load then fails, they are destroyed all the same.
   */
  onAllocated?: (weights: GpuWeights, config: VimConfig) => void;
}

/** Hands out exact byte counts from a stream of arbitrary chunks, hashing everything it reads. */
class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  readonly hash = new Sha256();
  loaded = 0;

  constructor(private readonly stream: ByteStream, private readonly onChunk: () => void) {}

  /** Exactly n bytes, in a fresh buffer padded with zeros to a multiple of 4 (writeBuffer's size rule). */
  async take(n: number, expectedTotal?: number): Promise<Uint8Array> {
    const out = new Uint8Array(Math.ceil(n / 4) * 4);
    let filled = 0;
    while (filled < n) {
      if (this.at >= this.chunk.length && !(await this.next())) {
        const total = expectedTotal === undefined ? '' : ` of the ${expectedTotal} its header describes`;
        throw new WeightFormatError(this.stream.name, `file ends after ${this.loaded} bytes${total}: truncated`);
      }
      const k = Math.min(n - filled, this.chunk.length - this.at);
      out.set(this.chunk.subarray(this.at, this.at + k), filled);
      filled += k;
      this.at += k;
    }
    return out;
  }

  /** True when nothing follows. */
  async atEnd(): Promise<boolean> {
    return this.at >= this.chunk.length && !(await this.next());
  }

  private async next(): Promise<boolean> {
    const c = await this.stream.read();
    if (!c) return false;
    this.chunk = c;
    this.at = 0;
    this.loaded += c.length;
    this.hash.update(c);
    this.onChunk();
    return true;
  }
}

export async function uploadEngineStream(ctx: GpuContext, stream: ByteStream, o: EngineStreamOptions = {}): Promise<LoadedWeights> {
  const file = stream.name;
  const created: GPUBuffer[] = [];
  const onAbort = () => { void stream.cancel(); };
  o.signal?.addEventListener('abort', onAbort);
  let header: EngineHeader | undefined;
  let ready = 0;
  const report = () => { if (header) o.progress?.uploading(reader.loaded, header.fileBytes, ready, header.weights.size); };
  const reader = new ChunkReader(stream, report);
  try {
    o.signal?.throwIfAborted();
    const first8 = await reader.take(8, stream.size);
    const length = headerLength(first8, file, stream.size);
    const rest = await reader.take(length, stream.size);
    const prefix = new Uint8Array(8 + length);
    prefix.set(first8.subarray(0, 8));
    prefix.set(rest.subarray(0, length), 8);
    header = parseEngineHeader(prefix, file, stream.size);
    const h = header;
    const slots = weightSlots(h.config, (name) => storageOf(h.weights.get(name)!));
    const buffers = allocate(ctx, slots, created, file);
    const weights = assembleWeights(h.config, slots, buffers);
    o.onAllocated?.(weights, h.config);
    const placement = new Map<string, { slot: WeightSlot; part: SlotPart }>();
    for (const slot of slots) for (const part of slot.parts) placement.set(part.tensor, { slot, part });
    report();
    const hostScales = new Map<string, Uint8Array>();
    let posEmbed: Float32Array | undefined;
    for (const e of h.entries) {
      o.signal?.throwIfAborted();
      const bytes = await reader.take(e.end - e.begin, h.fileBytes);
      await verifyEntry(file, e, bytes);
      if (e.kind === 'pad') continue;
      checkEntryFinite(file, e, bytes);
      const place = placement.get(e.name);
      if (e.kind === 'scale') {
        // Needed on the host when the matrix is expanded to f32 there; on the GPU when it stays int8.
        if (place) write(ctx, buffers.get(place.slot.key)!, place.part, bytes, e);
        else hostScales.set(e.name.slice(0, -SCALE_SUFFIX.length), bytes);
        continue;
      }
      if (!place) throw new Error(`internal: no GPU slot for '${e.name}'`);
      const raw = place.slot.type === storageOf(e);
      const data = raw ? bytes : decodeEntry(e, bytes, hostScales.get(e.name));
      write(ctx, buffers.get(place.slot.key)!, place.part, data, e);
      if (e.name === 'pos_embed') posEmbed = decodeEntry(e, bytes).slice();
      ready++;
      report();
    }
    if (!(await reader.atEnd())) throw new WeightFormatError(file, `bytes follow the ${h.fileBytes} its header describes: wrong length`);
    const sha256 = reader.hash.hex();
    if (o.sha256 && o.sha256.toLowerCase() !== sha256) throw new IntegrityError(file, 'file', o.sha256.toLowerCase(), sha256);
    return { config: h.config, weights, posEmbed: posEmbed!, sha256, fileBytes: h.fileBytes, header: h };
  } catch (e) {
    for (const b of created) ctx.buffers.destroy(b);
    await stream.cancel().catch(() => undefined);
    throw typedLoadError(e, file, o.signal);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

function allocate(ctx: GpuContext, slots: WeightSlot[], created: GPUBuffer[], file: string): Map<string, GPUBuffer> {
  const limit = Math.min(ctx.device.limits.maxStorageBufferBindingSize, ctx.device.limits.maxBufferSize);
  const big = slots.find((s) => s.byteLength > limit);
  if (big) throw new LimitExceededError('maxStorageBufferBindingSize', big.byteLength, limit, `weight buffer '${big.key}' of ${file} does not fit this adapter`);
  const buffers = new Map<string, GPUBuffer>();
  for (const slot of slots) {
    const b = createSlotBuffer(ctx, slot);
    created.push(b);
    buffers.set(slot.key, b);
  }
  return buffers;
}

function write(ctx: GpuContext, buffer: GPUBuffer, part: SlotPart, data: Uint8Array | Float32Array, e: EngineEntry): void {
  const bytes = data instanceof Float32Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  if (bytes.byteLength < part.byteLength) throw new Error(`internal: '${e.name}' has ${bytes.byteLength} bytes for a ${part.byteLength}-byte slot part`);
  ctx.device.queue.writeBuffer(buffer, part.byteOffset, bytes.buffer, bytes.byteOffset, Math.ceil(part.byteLength / 4) * 4);
}

/** Every failure leaves as a VimError: aborts, network errors and our own checks alike. */
export function typedLoadError(e: unknown, file: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return new LoadAbortedError(file);
  if (e instanceof VimError) return e;
  if (e instanceof TypeError || (e as { name?: string })?.name === 'NetworkError') {
    return new WeightFetchError(file, undefined, `download failed: ${(e as Error).message}`);
  }
  return e;
}
