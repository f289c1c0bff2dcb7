// A vim-webgpu file, arriving as a stream, straight into a model's buffers
// (GPU buffers, or host arrays for the CPU engine: weight-target.ts): the
// header is read and validated first; then every buffer is created; then each
// tensor is checked against its sha256 and for NaN/Inf, and written with
// queue.writeBuffer the moment its last byte has arrived, so only one tensor
// (plus the chunk in flight) is ever held. The whole file is hashed on the way
// (streaming SHA-256) for the caller's integrity check and the cache. Any
// failure (truncation, a lying header, a bad hash, a NaN, an abort) destroys
// every buffer of this load before the typed error reaches the caller: nothing
// half-loaded is ever usable.
import { IntegrityError, LoadAbortedError, VimError, WeightFetchError, WeightFormatError } from '../errors.js';
import type { VimConfig } from '../model/config.js';
import type { GpuWeights, SlotPart, WeightSlot } from '../model/gpu-weights.js';
import { headerLength, parseVimFileHeader, storageOf, SCALE_SUFFIX, type VimFileEntry, type VimFileHeader } from './format.js';
import { checkEntryFinite, decodeEntry, verifyEntry } from './format-read.js';
import { Sha256 } from './sha256.js';
import type { ByteStream } from './stream-loader-source.js';
import type { ProgressTracker } from './stream-loader-progress.js';
import type { WeightSink, WeightTarget } from './weight-target.js';

export interface LoadedWeights<W = GpuWeights> {
  config: VimConfig;
  /** In the target's buffers; owned by the caller (on the GPU: pass to VimGpu, or destroyWeights). */
  weights: W;
  /** The checkpoint's position table in f32 (to interpolate for other input sizes). */
  posEmbed: Float32Array;
  /** sha256 of the whole vim-webgpu file, hex. */
  sha256: string;
  fileBytes: number;
  header: VimFileHeader;
  /** The file's bytes as they arrived, when `keep` was asked for: to upload again after a device loss. */
  file?: Uint8Array[];
}

export interface VimFileUploadOptions<W = GpuWeights> {
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
  onAllocated?: (weights: W, config: VimConfig) => void;
  /** Keep the file's chunks (LoadedWeights.file). */
  keep?: boolean;
}

/** Hands out exact byte counts from a stream of arbitrary chunks, hashing everything it reads. */
class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  readonly hash = new Sha256();
  loaded = 0;

  constructor(private readonly stream: ByteStream, private readonly onChunk: () => void, readonly kept?: Uint8Array[]) {}

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
    this.kept?.push(c);
    this.onChunk();
    return true;
  }
}

export async function uploadVimFile<W>(target: WeightTarget<W>, stream: ByteStream, o: VimFileUploadOptions<W> = {}): Promise<LoadedWeights<W>> {
  const file = stream.name;
  let sink: WeightSink<W> | undefined;
  const onAbort = () => { void stream.cancel(); };
  o.signal?.addEventListener('abort', onAbort);
  let header: VimFileHeader | undefined;
  let ready = 0;
  const report = () => { if (header) o.progress?.uploading(reader.loaded, header.fileBytes, ready, header.weights.size); };
  const reader = new ChunkReader(stream, report, o.keep ? [] : undefined);
  try {
    o.signal?.throwIfAborted();
    const first8 = await reader.take(8, stream.size);
    const length = headerLength(first8, file, stream.size);
    const rest = await reader.take(length, stream.size);
    const prefix = new Uint8Array(8 + length);
    prefix.set(first8.subarray(0, 8));
    prefix.set(rest.subarray(0, length), 8);
    header = parseVimFileHeader(prefix, file, stream.size);
    const h = header;
    const slots = target.layout(h.config, (name) => storageOf(h.weights.get(name)!));
    const into = sink = target.allocate(h.config, slots, file);
    o.onAllocated?.(into.weights, h.config);
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
        // Needed on the host when the matrix is expanded to f32 there; in the target when it stays int8.
        if (place) write(into, place, bytes, e);
        else hostScales.set(e.name.slice(0, -SCALE_SUFFIX.length), bytes);
        continue;
      }
      if (!place) throw new Error(`internal: no slot for '${e.name}'`);
      const raw = place.slot.type === storageOf(e);
      write(into, place, raw ? bytes : decodeEntry(e, bytes, hostScales.get(e.name)), e);
      if (e.name === 'pos_embed') posEmbed = decodeEntry(e, bytes).slice();
      ready++;
      report();
    }
    if (!(await reader.atEnd())) throw new WeightFormatError(file, `bytes follow the ${h.fileBytes} its header describes: wrong length`);
    const sha256 = reader.hash.hex();
    if (o.sha256 && o.sha256.toLowerCase() !== sha256) throw new IntegrityError(file, 'file', o.sha256.toLowerCase(), sha256);
    return { config: h.config, weights: into.weights, posEmbed: posEmbed!, sha256, fileBytes: h.fileBytes, header: h, file: reader.kept };
  } catch (e) {
    sink?.destroy();
    await stream.cancel().catch(() => undefined);
    throw typedLoadError(e, file, o.signal);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

function write<W>(sink: WeightSink<W>, place: { slot: WeightSlot; part: SlotPart }, data: Uint8Array | Float32Array, e: VimFileEntry): void {
  const bytes = data instanceof Float32Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  if (bytes.byteLength < place.part.byteLength) throw new Error(`internal: '${e.name}' has ${bytes.byteLength} bytes for a ${place.part.byteLength}-byte slot part`);
  sink.write(place.slot, place.part, bytes);
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
