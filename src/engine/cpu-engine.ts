// The CPU engine: the float64 reference forward (src/reference) and the CPU
// eval transform. Exact and slow (seconds per image for Vim-Ti); used when
// asked for (device: 'cpu') or, opt-in, when WebGPU is missing. Its weights
// come through the same streaming loader as the GPU's, into host arrays
// (f16/int8 files expanded to float32).
import { DisposedError, InputError } from '../errors.js';
import { evalTransform } from '../image/preprocess.js';
import { geometry } from '../model/config.js';
import { referenceForward } from '../reference/vim.js';
import type { ImageInput } from '../api/types.js';
import { throwIfAborted } from '../api/errors.js';
import type { StateDict } from '../tensor.js';
import { hostTarget } from '../weights/weight-target.js';
import type { Engine, EngineInfo, InferOptions, InferResult, LoadRequest, ModelSummary } from './engine.js';
import { prepareImages, type EngineImage } from './inputs.js';
import { loadModel, reportReady } from './model-load.js';
import { inferResult, type PassOutput } from './outputs.js';
import { externalToPixels, pixelsToRgb } from './pixels.js';
import type { ModelAtResolution } from './resolution.js';

/** Lets timers, aborts and dispose() run between images: each forward blocks the thread. */
const breathe = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class CpuEngine implements Engine {
  readonly backend = 'cpu' as const;
  private weights?: StateDict;
  private model?: ModelAtResolution;
  private bytes = 0;
  private disposed = false;

  async load(req: LoadRequest): Promise<ModelSummary> {
    const { loaded, model, summary } = await loadModel(hostTarget(), req);
    throwIfAborted(req.signal);
    this.weights = loaded.weights;
    this.model = model;
    this.bytes = [...loaded.weights.values()].reduce((n, t) => n + t.data.byteLength, 0);
    reportReady(req, summary);
    return summary;
  }

  private tensor(img: EngineImage): Float32Array {
    if (img.kind === 'tensor') return img.data;
    const bytes = img.kind === 'external' ? externalToPixels(img) : img;
    return evalTransform(pixelsToRgb(bytes), this.model!.size);
  }

  private async forward(img: EngineImage, o: InferOptions): Promise<PassOutput> {
    await breathe();
    if (this.disposed) throw new DisposedError('the classifier was disposed');
    throwIfAborted(o.signal);
    const m = this.model!;
    let tokens: Float64Array | undefined;
    const { logits } = referenceForward(this.weights!, m.config, this.tensor(img), 1, m.size, m.size, {
      stride: m.stride, posEmbed: m.posEmbed,
      capture: o.features ? (name, _layer, value) => { if (name === 'final_norm') tokens = value; } : undefined,
    });
    return { logits: Float32Array.from(logits), tokens: tokens && Float32Array.from(tokens), geometry: geometry(m.config, m.size, m.size, m.stride) };
  }

  async infer(images: readonly ImageInput[], o: InferOptions = {}): Promise<InferResult> {
    if (this.disposed) throw new DisposedError('the classifier was disposed');
    const m = this.model;
    if (!m) throw new InputError('model', 'no model is loaded: call load() first');
    const prepared = await prepareImages(images, m.size, o.signal);
    try {
      const passes: PassOutput[] = [];
      for (const p of prepared) passes.push(await this.forward(p.image, o));
      // No GPU to time: `timed` gives no gpuMs here.
      return inferResult(passes, m.config.numClasses, m.config.embedDim, { ...o, timed: false });
    } finally {
      prepared.forEach((p) => p.release());
    }
  }

  async info(): Promise<EngineInfo> {
    return { backend: 'cpu', adapter: null, memoryBytes: this.bytes + (this.model?.posEmbed?.byteLength ?? 0), buffers: 0 };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.weights = undefined;
    this.model = undefined;
    this.bytes = 0;
  }
}
