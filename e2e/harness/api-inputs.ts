// The public API in Chromium on the tiny fixture model: every browser input
// type through both WebGPU paths (the engine in the Web Worker, which receives
// DOM sources as ImageBitmaps, and in the page; copyExternalImageToTexture + GPU
// preprocessing on both) and through the CPU path (canvas readback + CPU
// transform + reference), plus features and info. Returns plain numbers for the spec to judge.
import { createClassifier, type ImageInput, type Prediction } from '../../src/index.js';

const FIXTURES = '/test/fixtures/vim/';

export interface InputResult {
  /** The default in a page: the engine in the Web Worker (GPU preprocessing there). */
  worker: Prediction[];
  /** worker: false: WebGPU in this thread, GPU preprocessing (copyExternalImageToTexture for DOM sources). */
  gpu: Prediction[];
  cpu: Prediction[];
}

async function inputs(): Promise<Record<string, ImageInput>> {
  const png = await (await fetch(`${FIXTURES}tiny_image.png`)).blob();
  const bitmap = await createImageBitmap(png, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const img = new Image();
  img.src = `${FIXTURES}tiny_image.png`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const offscreen = new OffscreenCanvas(bitmap.width, bitmap.height);
  offscreen.getContext('2d')!.drawImage(bitmap, 0, 0);
  const tensor = new Float32Array(await (await fetch(`${FIXTURES}tiny_input.bin`)).arrayBuffer());
  return {
    HTMLImageElement: img,
    HTMLCanvasElement: canvas,
    OffscreenCanvas: offscreen,
    ImageBitmap: bitmap,
    ImageData: ctx.getImageData(0, 0, canvas.width, canvas.height),
    VideoFrame: new VideoFrame(bitmap, { timestamp: 0 }),
    File: new File([png], 'tiny_image.png', { type: 'image/png' }),
    Blob: png,
    Float32Array: tensor,
  };
}

/** What classify says of an <img> whose load failed: the error's class and message. */
async function brokenImage(c: Awaited<ReturnType<typeof createClassifier>>): Promise<string> {
  const img = new Image();
  img.src = `${FIXTURES}no-such-image.png`;
  await img.decode().catch(() => undefined);
  return c.classify(img).then(() => 'classified', (e: Error) => `${e.constructor.name}: ${e.message}`);
}

export async function apiInputs(): Promise<{ results: Record<string, InputResult>; features: { grid: number[]; dim: number; patches: number; cls: number[]; workerCls: number[]; workerGrid: number[] }; info: { worker: unknown; gpu: unknown }; broken: Record<'worker' | 'gpu', string> }> {
  const weights = `${FIXTURES}tiny.pth`;
  const worker = await createClassifier({ weights });
  const gpu = await createClassifier({ weights, worker: false });
  const cpu = await createClassifier({ weights, device: 'cpu' });
  const results: Record<string, InputResult> = {};
  try {
    for (const [name, input] of Object.entries(await inputs())) {
      results[name] = {
        worker: await worker.classify(input, { topK: 10 }),
        gpu: await gpu.classify(input, { topK: 10 }),
        cpu: await cpu.classify(input, { topK: 10 }),
      };
      if (input instanceof VideoFrame) input.close();
    }
    const png = await (await fetch(`${FIXTURES}tiny_image.png`)).blob();
    const feats = await gpu.features(png), workerFeats = await worker.features(png);
    return {
      results,
      features: {
        grid: feats.grid, dim: feats.dim, patches: feats.patches.length, cls: Array.from(feats.cls),
        workerCls: Array.from(workerFeats.cls), workerGrid: workerFeats.grid,
      },
      info: { worker: worker.info(), gpu: gpu.info() },
      broken: { worker: await brokenImage(worker), gpu: await brokenImage(gpu) },
    };
  } finally {
    await worker.dispose();
    await gpu.dispose();
    await cpu.dispose();
  }
}
