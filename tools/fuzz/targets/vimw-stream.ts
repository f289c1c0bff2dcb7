// Fuzz target: the engine's format through the GPU streaming loader
// (uploadVimFile on Dawn), the path createClassifier takes. Besides the
// usual contract it checks the loader's own promise: a failed load leaves no
// GPU buffer behind, and no load causes a WebGPU validation error.
// Same inputs as 'vimw'; the stream is cut into random chunk sizes, and half
// the time its total size is unknown (a response without Content-Length).
import { acquireGpu, type GpuContext } from '../../../src/gpu/context.js';
import { nodeGpu } from '../../../src/gpu/node.js';
import { destroyWeights } from '../../../src/model/gpu-weights.js';
import { firstNonFinite } from '../../../src/weights/finite.js';
import { readVimFileStateDict } from '../../../src/weights/format-read.js';
import { bufferSource } from '../../../src/weights/source.js';
import { gpuTarget } from '../../../src/weights/weight-target.js';
import { uploadVimFile } from '../../../src/weights/stream-loader-upload.js';
import { bufferStream, type ByteStream } from '../../../src/weights/stream-loader-source.js';
import { FuzzBug, type FuzzCase, type Target } from '../harness.js';
import { Rng } from '../rng.js';
import { vimwGenerate, vimwSeeds } from './vimw.js';

let ctx: GpuContext | undefined;

function streamOf(bytes: Uint8Array): ByteStream {
  // Chunking and size knowledge follow from the bytes, so a case stays reproducible.
  const rng = new Rng('stream', bytes.length, bytes[bytes.length >> 1] ?? 0);
  const s = bufferStream('fuzz.vimw', bytes, rng.pick([1, 7, 64, 1000, 4096, 1 << 20]));
  return rng.chance(0.5) ? s : { name: s.name, size: undefined, read: () => s.read(), cancel: () => s.cancel() };
}

export const vimwStreamTarget: Target = {
  name: 'vimw-stream',
  bounds: 'largest allocation <= 8 x file size + 1 MiB; every GPU buffer of a failed load destroyed; no validation errors',
  async prepare() {
    await vimwSeeds();
    ctx ??= await acquireGpu({ gpu: await nodeGpu() });
  },
  generate: (rng: Rng): FuzzCase => vimwGenerate(rng),
  async run(bytes, stats) {
    const c = ctx!;
    const before = c.buffers.liveCount;
    c.device.pushErrorScope('validation');
    let failure: unknown;
    try {
      const loaded = await uploadVimFile(gpuTarget(c), streamOf(bytes));
      destroyWeights(c, loaded.weights);
    } catch (e) {
      failure = e;
    }
    const gpuError = await c.device.popErrorScope();
    if (gpuError) throw new FuzzBug('gpu-validation', gpuError.message);
    if (c.buffers.liveCount !== before) throw new FuzzBug('leak', `${c.buffers.liveCount - before} GPU buffers left after ${failure ? 'a failed' : 'a'} load`);
    if (failure) throw failure;
    // The streaming loader does not scan values (see the report): flag accepted files holding NaN/Inf.
    const sd = await readVimFileStateDict(bufferSource('fuzz.vimw', bytes));
    if ([...sd.values()].some((t) => firstNonFinite(t.data) >= 0)) stats.note = 'nonfinite-weights';
  },
  allocBound: (bytes) => 8 * bytes.length + (1 << 20),
};
