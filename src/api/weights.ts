// From the `weights` option to a checked state dict in host memory. The host
// copy is kept: after a device loss the weights are uploaded again from it.
import { InputError, WeightFetchError } from '../errors.js';
import type { VimConfig } from '../model/config.js';
import type { StateDict } from '../tensor.js';
import { blobSource, bufferSource, loadVimWeights, type RandomAccessSource } from '../weights/index.js';
import { DEFAULT_WEIGHTS } from './defaults.js';
import { AbortError, raceAbort, throwIfAborted } from './errors.js';
import { isNode, nodeFilePath, readNodeFile } from './node.js';
import type { LoadProgress, WeightsDType, WeightsInput } from './types.js';
import { detectFormat } from '../weights/index.js';
import { readSafetensorsHeader } from '../weights/safetensors.js';
import { isEngineFile, readEngineHeader, readEngineStateDict } from '../weights/format-read.js';
import { deriveConfig } from '../model/config.js';
import { metadataImageSize } from '../model/classes.js';
import { defaultLabels } from '../model/labels.js';
import type { LoadRequest, ModelSummary } from './engine.js';
import { atResolution, type ModelAtResolution } from './resolution.js';

export interface HostWeights {
  name: string;
  config: VimConfig;
  /** float32 host copy (int8/f16 files expanded): uploaded again after a device loss. */
  tensors: StateDict;
  bytes: number;
  /** safetensors __metadata__ (class names, input size), {} for .pth. */
  metadata: Record<string, string>;
  /** Precision of the values: 'f32' for checkpoints, as stored for vim-webgpu files. */
  dtype: WeightsDType;
}

type Report = (p: Omit<LoadProgress, 'progress'>) => void;

/** Turns progress by phase into one never-decreasing overall fraction (download dominates). */
export function progressReporter(onProgress?: (p: LoadProgress) => void): Report {
  const span: Record<LoadProgress['phase'], [number, number]> = {
    download: [0, 0.85], parse: [0.85, 0.9], upload: [0.9, 1], ready: [1, 1],
  };
  let last = 0;
  return (p) => {
    if (!onProgress) return;
    const [a, b] = span[p.phase];
    const within = p.totalBytes > 0 ? Math.min(1, p.loadedBytes / p.totalBytes) : 0;
    last = Math.max(last, a + (b - a) * within);
    onProgress({ ...p, progress: p.phase === 'ready' ? 1 : last });
  };
}

function isSource(w: unknown): w is RandomAccessSource {
  return typeof w === 'object' && w !== null && typeof (w as RandomAccessSource).read === 'function' &&
    typeof (w as RandomAccessSource).size === 'number';
}

/** A URL-looking string (scheme:), as opposed to a file path in Node. */
function looksLikeUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s); // not a Windows drive letter
}

async function download(url: string, report: Report, signal?: AbortSignal): Promise<RandomAccessSource> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    if (signal?.aborted) throw new AbortError(signal.reason);
    throw new WeightFetchError(url, undefined, `download failed: ${(e as Error).message}`);
  }
  if (!response.ok) throw new WeightFetchError(url, response.status, `download failed: HTTP ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get('content-length') ?? 0) || 0;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  report({ phase: 'download', loadedBytes: 0, totalBytes: total });
  if (!response.body) {
    const all = new Uint8Array(await response.arrayBuffer());
    report({ phase: 'download', loadedBytes: all.byteLength, totalBytes: all.byteLength });
    return bufferSource(url, all);
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await raceAbort(reader.read(), signal);
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      report({ phase: 'download', loadedBytes: loaded, totalBytes: Math.max(total, loaded) });
    }
  } catch (e) {
    reader.cancel().catch(() => {});
    if (e instanceof AbortError) throw e;
    throw new WeightFetchError(url, undefined, `download interrupted: ${(e as Error).message}`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
  return bufferSource(url.split('/').pop() || url, bytes);
}

async function openSource(weights: WeightsInput, report: Report, signal?: AbortSignal): Promise<RandomAccessSource> {
  if (isSource(weights)) return weights;
  if (typeof Blob !== 'undefined' && weights instanceof Blob) return blobSource(weights);
  if (weights instanceof ArrayBuffer) return bufferSource('weights', new Uint8Array(weights));
  if (ArrayBuffer.isView(weights)) return bufferSource('weights', new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
  const text = String(weights);
  if (weights instanceof URL || looksLikeUrl(text)) {
    if (isNode() && text.startsWith('file:')) return bufferSource(text.split('/').pop() || text, await readNodeFile(await nodeFilePath(text)));
    return download(text, report, signal);
  }
  if (isNode()) return bufferSource(text.split(/[\\/]/).pop() || text, await readNodeFile(text));
  return download(text, report, signal); // a relative URL in a page
}

/** Reads and checks the weights (WeightFormatError / ModelShapeError on bad files). */
export async function loadHostWeights(weights: WeightsInput | undefined, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<HostWeights> {
  const report = progressReporter(onProgress);
  const input = weights ?? DEFAULT_WEIGHTS;
  if (input === undefined) {
    throw new InputError('weights', 'no bundled model ships with this version yet: pass `weights` — a URL, File/Blob, ArrayBuffer ' +
      '(or, in Node, a file path) of an official hustvl/Vim .pth checkpoint or a .safetensors state dict');
  }
  throwIfAborted(signal);
  const src = await openSource(input, report, signal);
  throwIfAborted(signal);
  report({ phase: 'parse', loadedBytes: 0, totalBytes: src.size });
  const read = await raceAbort(readWeights(src), signal);
  report({ phase: 'parse', loadedBytes: src.size, totalBytes: src.size });
  let bytes = 0;
  for (const t of read.tensors.values()) bytes += t.data.byteLength;
  return { name: src.name, bytes, ...read };
}

/** A checkpoint or safetensors state dict, or a vim-webgpu file (int8/f16 expanded to float32, hashes verified). */
async function readWeights(src: RandomAccessSource): Promise<Omit<HostWeights, 'name' | 'bytes'>> {
  if (await isEngineFile(src)) {
    const header = await readEngineHeader(src);
    const tensors = await readEngineStateDict(src, header);
    return { config: deriveConfig(tensors, src.name), tensors, metadata: header.metadata, dtype: header.target };
  }
  const metadata = (await detectFormat(src)) === 'safetensors' ? (await readSafetensorsHeader(src)).metadata ?? {} : {};
  const { config, tensors } = await loadVimWeights(src);
  return { config, tensors, metadata, dtype: 'f32' };
}

/** What a loaded host model looks like from outside, at the requested resolution. */
export function hostSummary(host: HostWeights, req: LoadRequest): { model: ModelAtResolution; summary: ModelSummary } {
  if (host.dtype === 'f32' && req.dtype !== 'f32') {
    throw new InputError('options', `dtype '${req.dtype}' needs the worker engine (worker: true, the default in pages) to convert ${host.name}; in this thread use 'f32' or a vim-webgpu file of that dtype`);
  }
  const model = atResolution(host.config, host.tensors, req.resolution, req.interpolation, metadataImageSize(host.metadata));
  return {
    model,
    summary: {
      config: model.config, size: model.size, stride: model.stride, grid: model.grid, interpolation: model.interpolation,
      dtype: host.dtype, labels: defaultLabels(host.config.numClasses, host.metadata),
    },
  };
}
