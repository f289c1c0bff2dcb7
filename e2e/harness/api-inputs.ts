// The public API in Chromium on the tiny fixture model: every browser input
// type through the WebGPU path (copyExternalImageToTexture + GPU preprocessing)
// and through the CPU path (canvas readback + CPU transform + reference), plus
// features and info. Returns plain numbers for the spec to judge.
import { createClassifier, type ImageInput, type Prediction } from '../../src/index.js';

const FIXTURES = '/test/fixtures/vim/';

export interface InputResult {
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

export async function apiInputs(): Promise<{ results: Record<string, InputResult>; features: { grid: number[]; dim: number; patches: number; cls: number[] }; info: unknown }> {
  const weights = `${FIXTURES}tiny.pth`;
  const gpu = await createClassifier({ weights });
  const cpu = await createClassifier({ weights, device: 'cpu' });
  const results: Record<string, InputResult> = {};
  try {
    for (const [name, input] of Object.entries(await inputs())) {
      results[name] = { gpu: await gpu.classify(input, { topK: 10 }), cpu: await cpu.classify(input, { topK: 10 }) };
      if (input instanceof VideoFrame) input.close();
    }
    const feats = await gpu.features(await (await fetch(`${FIXTURES}tiny_image.png`)).blob());
    return {
      results,
      features: { grid: feats.grid, dim: feats.dim, patches: feats.patches.length, cls: Array.from(feats.cls) },
      info: gpu.info(),
    };
  } finally {
    await gpu.dispose();
    await cpu.dispose();
  }
}
