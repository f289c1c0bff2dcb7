// One load, as every engine does it: the streaming loader (src/weights) fills
// the engine's target (GPU buffers or host arrays) from any source and dtype,
// then the model is set to the requested input size. Progress and errors come
// out in the public API's terms.
import { InputError, LoadAbortedError } from '../errors.js';
import { metadataImageSize } from '../model/classes.js';
import { defaultLabels } from '../model/labels.js';
import { AbortError, throwIfAborted } from '../api/errors.js';
import type { LoadProgress } from '../api/types.js';
import { loadWeightsInto, type LoadResult } from '../weights/stream-loader.js';
import type { LoadProgress as LoaderProgress } from '../weights/stream-loader-progress.js';
import type { WeightTarget } from '../weights/weight-target.js';
import type { LoadRequest, ModelSummary } from './engine.js';
import { atResolution, type ModelAtResolution } from './resolution.js';

export interface LoadedModel<W> {
  loaded: LoadResult<W>;
  model: ModelAtResolution;
  summary: ModelSummary;
}

/** The loader's progress → the API's: one monotonic fraction, held below 1 until the engine says 'ready'. */
export function publicProgress(onProgress: ((p: LoadProgress) => void) | undefined): ((p: LoaderProgress) => void) | undefined {
  if (!onProgress) return undefined;
  return ({ fraction, ...p }) => onProgress({ ...p, progress: Math.min(0.99, fraction) });
}

export function reportReady(req: LoadRequest, summary: ModelSummary): void {
  const bytes = summary.source.fileBytes, tensors = summary.tensors;
  req.onProgress?.({ phase: 'ready', loadedBytes: bytes, totalBytes: bytes, tensorsReady: tensors, tensorsTotal: tensors, progress: 1 });
}

/**
 * Loads `req.weights` into `target`. `keep`: the vim-webgpu file's bytes stay in
 * the result, to fill a new device after a loss. `onAllocated` as in the loader.
 */
export async function loadModel<W>(target: WeightTarget<W>, req: LoadRequest,
  o: { keep?: boolean; onAllocated?: (weights: W, config: LoadResult<W>['config']) => void; release?: (weights: W) => void } = {}): Promise<LoadedModel<W>> {
  const start = performance.now();
  if (req.weights === undefined) throw new InputError('weights', 'pass `weights`: a URL, File/Blob, bytes or (in Node) a file path');
  throwIfAborted(req.signal);
  let loaded: LoadResult<W>;
  try {
    loaded = await loadWeightsInto(target, req.weights, {
      dtype: req.dtype, sha256: req.sha256, cache: req.cache ?? true, cacheKey: req.cacheKey,
      signal: req.signal, onProgress: publicProgress(req.onProgress), onAllocated: o.onAllocated, keep: o.keep,
    });
  } catch (e) {
    if (e instanceof LoadAbortedError && req.signal?.aborted) throw new AbortError(req.signal.reason);
    throw e;
  }
  try {
    const { config, posEmbed, header } = loaded;
    const table = new Map([['pos_embed', { shape: [1, config.posRows, config.embedDim], data: posEmbed }]]);
    const model = atResolution(config, table, req.resolution, req.interpolation, metadataImageSize(header.metadata));
    const { sha256: _hashes, quantization: _tables, ...metadata } = header.metadata;
    const summary: ModelSummary = {
      config: model.config, size: model.size, stride: model.stride, grid: model.grid, interpolation: model.interpolation,
      dtype: header.target, labels: defaultLabels(config.numClasses, header.metadata), metadata,
      source: { name: loaded.source, sha256: loaded.sha256, fileBytes: loaded.fileBytes, fromCache: loaded.fromCache, converted: loaded.converted },
      tensors: header.weights.size, loadMs: performance.now() - start,
    };
    return { loaded, model, summary };
  } catch (e) {
    o.release?.(loaded.weights);
    throw e;
  }
}
