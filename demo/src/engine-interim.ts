// Interim engine for the demo, until the public API (src/api/) lands: the same
// createClassifier() surface, built directly on the engine's parts (weights
// reader, VimGpu, the official eval transform, the float64 reference as the CPU
// fallback). Runs on the page's main thread; `worker` and `dtype` are accepted and
// ignored (weights stay float32 here).
import {
  acquireGpu, releaseGpu, GpuUnavailableError, VimGpu, softmax, topK, imagenetLabels,
  type GpuContext, type StateDict, type VimConfig,
} from '../../src/index.js';
import { inferStride } from '../../src/model/config.js';
import { interpolatePosEmbed } from '../../src/model/pos-embed.js';
import { blobSource, bufferSource, loadVimWeights, type RandomAccessSource } from '../../src/weights/index.js';
import { evalTransform } from '../../src/image/index.js';
import type { Classifier, ClassifierInfo, ClassifierOptions, ImageInput, LoadProgress, Prediction } from './engine.js';
import { fetchWeights } from './weight-fetch.js';
import { toRgb } from './interim-image.js';

/** Share of the progress bar given to the download; the rest is parsing and upload. */
const DOWNLOAD_SHARE = 0.9;

interface Runner {
  backend: 'webgpu' | 'cpu';
  adapter: ClassifierInfo['adapter'];
  memoryBytes(): number;
  forward(input: Float32Array, size: number, stride: number): Promise<Float32Array>;
  dispose(): void;
}

async function openSource(weights: ClassifierOptions['weights'], report: (p: LoadProgress) => void, signal?: AbortSignal): Promise<RandomAccessSource> {
  if (weights === undefined) throw new Error('interim engine: pass `weights` (no default model is bundled in src/ yet)');
  if (weights instanceof ArrayBuffer) return bufferSource('weights', new Uint8Array(weights));
  if (weights instanceof Blob) return blobSource(weights);
  const url = String(weights);
  const blob = await fetchWeights(url, ({ loadedBytes, totalBytes }) => report({
    phase: 'download', loadedBytes, totalBytes, progress: totalBytes ? DOWNLOAD_SHARE * loadedBytes / totalBytes : 0,
  }), signal);
  return blobSource(blob, decodeURIComponent(url.split('/').pop() ?? url));
}

/** The input size a checkpoint was trained at: 224 when its position table fits 224, else grid · patch. */
function nativeSize(cfg: VimConfig): number {
  if (inferStride(cfg, 224, 224) !== undefined) return 224;
  return Math.round(Math.sqrt(cfg.posRows - 1)) * cfg.patchSize;
}

function outOfMemory(e: GPUError): Error {
  return Object.assign(new Error(`the GPU ran out of memory: ${e.message}`), { name: 'OutOfMemoryError' });
}

async function gpuRunner(cfg: VimConfig, sd: StateDict, posEmbed: Float32Array): Promise<Runner> {
  const ctx: GpuContext = await acquireGpu();
  try {
    ctx.device.pushErrorScope('out-of-memory');
    const model = new VimGpu(ctx, cfg, sd, { posEmbed });
    await ctx.device.queue.onSubmittedWorkDone();
    const oomAtLoad = await ctx.device.popErrorScope();
    if (oomAtLoad) throw outOfMemory(oomAtLoad);
    const lost = ctx.device.lost; // reported by the next forward()
    let lostReason: string | undefined;
    void lost.then((i) => { lostReason = i.message || i.reason; });
    return {
      backend: 'webgpu',
      adapter: { ...ctx.adapterInfo },
      memoryBytes: () => ctx.buffers.bytesInUse,
      async forward(input, size, stride) {
        if (lostReason !== undefined) throw new Error(`the GPU device was lost: ${lostReason}`);
        ctx.device.pushErrorScope('out-of-memory');
        const logits = await model.forward(input, 1, size, size, stride);
        const oom = await ctx.device.popErrorScope();
        if (oom) throw outOfMemory(oom);
        return logits;
      },
      dispose() { model.dispose(); releaseGpu(ctx); },
    };
  } catch (e) {
    releaseGpu(ctx);
    throw e;
  }
}

async function cpuRunner(cfg: VimConfig, sd: StateDict, posEmbed: Float32Array): Promise<Runner> {
  const { referenceForward } = await import('../../src/reference/vim.js');
  return {
    backend: 'cpu',
    adapter: null,
    memoryBytes: () => 0,
    async forward(input, size, stride) {
      return Float32Array.from(referenceForward(sd, cfg, input, 1, size, size, { stride, posEmbed }).logits);
    },
    dispose() { /* nothing on the GPU */ },
  };
}

export async function createClassifier(opts: ClassifierOptions = {}): Promise<Classifier> {
  const report = opts.onProgress ?? (() => undefined);
  const src = await openSource(opts.weights, report, opts.signal);
  report({ phase: 'parse', loadedBytes: src.size, totalBytes: src.size, progress: DOWNLOAD_SHARE });
  const { config: cfg, tensors: sd } = await loadVimWeights(src);
  opts.signal?.throwIfAborted();

  const native = nativeSize(cfg);
  const resolution = opts.resolution ?? native;
  const stride = inferStride(cfg, native, native) ?? cfg.patchSize;
  const grid = (s: number) => Math.floor((s - cfg.patchSize) / stride) + 1;
  const pos = sd.get('pos_embed')!.data;
  const posEmbed = interpolatePosEmbed(pos, cfg.embedDim, [grid(native), grid(native)],
    [grid(resolution), grid(resolution)], opts.interpolation ?? 'official');

  report({ phase: 'upload', loadedBytes: src.size, totalBytes: src.size, progress: (1 + DOWNLOAD_SHARE) / 2 });
  let runner: Runner;
  try {
    runner = await gpuRunner(cfg, sd, posEmbed);
  } catch (e) {
    if (!(e instanceof GpuUnavailableError) || !opts.cpuFallback) throw e;
    runner = await cpuRunner(cfg, sd, posEmbed);
  }
  // One forward on a blank image compiles every pipeline now, so that "ready"
  // means ready: on a software adapter compiling takes far longer than running.
  await runner.forward(new Float32Array(3 * resolution * resolution), resolution, stride);
  opts.signal?.throwIfAborted();
  const total = src.size;
  report({ phase: 'ready', loadedBytes: total, totalBytes: total, progress: 1 });

  const labels = opts.labels ?? (cfg.numClasses === 1000 ? imagenetLabels() : undefined);
  const label = (i: number) => labels?.[i] ?? `class ${i}`;
  let disposed = false;

  return {
    async classify(image: ImageInput, { topK: k = 5 } = {}): Promise<Prediction[]> {
      if (disposed) throw new Error('classifier used after dispose()');
      const input = evalTransform(await toRgb(image), resolution);
      const logits = await runner.forward(input, resolution, stride);
      const probs = softmax(logits);
      return topK(probs, k).map(({ index, value }) => ({ index, label: label(index), score: value }));
    },
    info(): ClassifierInfo {
      return {
        adapter: runner.adapter, config: { ...cfg }, dtype: 'f32', resolution,
        memoryBytes: runner.memoryBytes(), backend: runner.backend,
      };
    },
    dispose() {
      if (!disposed) runner.dispose();
      disposed = true;
    },
  };
}
