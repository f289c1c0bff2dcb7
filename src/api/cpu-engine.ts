// The CPU backend: the float64 reference forward (src/reference) and the CPU
// eval transform. Exact and slow (seconds per image for Vim-Ti); used when
// asked for (device: 'cpu') or, opt-in, when WebGPU is missing.
import { DisposedError } from '../errors.js';
import { evalTransform } from '../image/preprocess.js';
import { referenceForward } from '../reference/vim.js';
import { geometry } from '../model/config.js';
import type { Engine, EngineFeatures, EngineImage, EngineOutput, EngineInfo, LoadRequest, ModelSummary } from './engine.js';
import { throwIfAborted } from './errors.js';
import { externalToPixels, pixelsToRgb } from './pixels.js';
import type { ModelAtResolution } from './resolution.js';
import { hostSummary, loadHostWeights, progressReporter, type HostWeights } from './weights.js';

/** Lets timers, aborts and dispose() run between images: each forward blocks the thread. */
const breathe = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class CpuEngine implements Engine {
  readonly backend = 'cpu' as const;
  private host?: HostWeights;
  private model?: ModelAtResolution;
  private disposed = false;

  async load(req: LoadRequest): Promise<ModelSummary> {
    const host = await loadHostWeights(req.weights, req.onProgress, req.signal);
    const { model, summary } = hostSummary(host, req);
    throwIfAborted(req.signal);
    this.host = host;
    this.model = model;
    progressReporter(req.onProgress)({ phase: 'ready', loadedBytes: host.bytes, totalBytes: host.bytes });
    return summary;
  }

  private tensor(img: EngineImage): Float32Array {
    if (img.kind === 'tensor') return img.data;
    const bytes = img.kind === 'external' ? externalToPixels(img) : img;
    return evalTransform(pixelsToRgb(bytes), this.model!.size);
  }

  private async forward(img: EngineImage, captureTokens: boolean, signal?: AbortSignal): Promise<{ logits: Float64Array; tokens?: Float64Array }> {
    await breathe();
    if (this.disposed) throw new DisposedError('the classifier was disposed');
    throwIfAborted(signal);
    const m = this.model!;
    let tokens: Float64Array | undefined;
    const { logits } = referenceForward(this.host!.tensors, m.config, this.tensor(img), 1, m.size, m.size, {
      stride: m.stride, posEmbed: m.posEmbed,
      capture: captureTokens ? (name, _layer, value) => { if (name === 'final_norm') tokens = value; } : undefined,
    });
    return { logits, tokens };
  }

  async infer(images: EngineImage[], signal?: AbortSignal): Promise<EngineOutput> {
    const n = this.host!.config.numClasses;
    const out = new Float32Array(images.length * n);
    for (let b = 0; b < images.length; b++) out.set((await this.forward(images[b], false, signal)).logits, b * n);
    return { logits: out };
  }

  async features(image: EngineImage, signal?: AbortSignal): Promise<EngineFeatures> {
    const m = this.model!;
    const { logits, tokens } = await this.forward(image, true, signal);
    return { logits: Float32Array.from(logits), tokens: Float32Array.from(tokens!), geometry: geometry(m.config, m.size, m.size, m.stride) };
  }

  info(): EngineInfo {
    return { backend: 'cpu', adapter: null, memoryBytes: (this.host?.bytes ?? 0) + (this.model?.posEmbed?.byteLength ?? 0) };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.host = undefined;
    this.model = undefined;
  }
}
