// `vim-webgpu infer`: logits for an image or a preprocessed tensor file, on
// the WebGPU engine (default) or the float64 reference.
import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { VimConfig } from '../model/config.js';
import { defaultLabels } from '../model/labels.js';
import { metadataImageSize } from '../model/classes.js';
import { readWeightsFile, type WeightsFile } from './weights-file.js';
import { decodeImage } from '../image/decode.js';
import { evalTransform } from '../image/preprocess.js';
import { topK } from '../model/top-k.js';

export interface InferArgs {
  weights: string;
  image?: string;
  input?: string;
  size?: [number, number];
  batch?: number;
  stride?: number;
  backend: 'webgpu' | 'reference';
  out?: string;
  json: boolean;
}

/**
 * The input size a checkpoint was made for, from its square position table:
 * grid·P at stride P, except the released stride-8 ("+") models, whose table
 * only fits a 224 input at stride P/2.
 */
export function nativeSize(cfg: VimConfig, stride?: number): number {
  const grid = Math.round(Math.sqrt(cfg.posRows - 1));
  const at = (s: number) => (grid - 1) * s + cfg.patchSize;
  if (stride !== undefined) return at(stride);
  const half = cfg.patchSize / 2;
  return at(cfg.patchSize) > 1.5 * 224 && at(half) === 224 ? 224 : at(cfg.patchSize);
}

async function readInputTensor(path: string, size: [number, number], batch?: number): Promise<{ data: Float32Array; batch: number }> {
  const bytes = await readFile(path).catch((e: Error) => { throw new InputError(path, `cannot read: ${e.message}`); });
  const per = 3 * size[0] * size[1] * 4;
  if (bytes.byteLength === 0 || bytes.byteLength % per !== 0) {
    throw new InputError(path, `size ${bytes.byteLength} bytes is not a whole number of (3, ${size[0]}, ${size[1]}) float32 images (${per} bytes each)`);
  }
  const n = bytes.byteLength / per;
  if (batch !== undefined && batch !== n) throw new InputError(path, `holds ${n} images but --batch is ${batch}`);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { data, batch: n };
}

async function readImage(path: string, size: number, batch: number): Promise<Float32Array> {
  const bytes = await readFile(path).catch((e: Error) => { throw new InputError(path, `cannot read: ${e.message}`); });
  const one = evalTransform(decodeImage(new Uint8Array(bytes), path), size);
  const out = new Float32Array(one.length * batch);
  for (let b = 0; b < batch; b++) out.set(one, b * one.length);
  return out;
}

async function runBackend(args: InferArgs, file: WeightsFile, input: Float32Array, batch: number, h: number, w: number): Promise<Float32Array> {
  if (args.backend === 'reference') {
    const { referenceForward } = await import('../reference/vim.js');
    const { logits } = referenceForward(file.tensors, file.config, input, batch, h, w, { stride: args.stride });
    return Float32Array.from(logits);
  }
  const { runOnNodeGpu } = await import('./node-engine.js');
  return runOnNodeGpu(file, input, batch, h, w, args.stride);
}

export async function infer(args: InferArgs): Promise<void> {
  const file = await readWeightsFile(args.weights);
  const { config, metadata } = file;
  let input: Float32Array, batch: number, h: number, w: number;
  if (args.input) {
    if (!args.size) throw new InputError(args.input, '--input needs --size HxW');
    [h, w] = args.size;
    ({ data: input, batch } = await readInputTensor(args.input, args.size, args.batch));
  } else if (args.image) {
    const s = args.size ? args.size[0] : metadataImageSize(metadata) ?? nativeSize(config, args.stride);
    if (args.size && args.size[0] !== args.size[1]) throw new InputError(args.image, '--image takes a square --size (the eval transform crops a square)');
    h = w = s;
    batch = args.batch ?? 1;
    input = await readImage(args.image, s, batch);
  } else {
    throw new InputError('arguments', 'give --image FILE or --input FILE.bin --size HxW');
  }
  const logits = await runBackend(args, file, input, batch, h, w);
  if (args.out) await writeFile(args.out, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  const labels = defaultLabels(config.numClasses, metadata);
  const results = [];
  for (let b = 0; b < batch; b++) {
    const row = logits.subarray(b * config.numClasses, (b + 1) * config.numClasses);
    results.push(topK(row, 5).map(({ index, value }) => ({ index, logit: value, ...(labels ? { label: labels[index] } : {}) })));
  }
  if (args.json) {
    process.stdout.write(JSON.stringify(batch === 1 ? results[0] : results, null, 1) + '\n');
  } else {
    results.forEach((top, b) => {
      if (batch > 1) process.stdout.write(`image ${b}\n`);
      for (const r of top) process.stdout.write(`  ${String(r.index).padStart(4)}  ${r.logit.toFixed(4).padStart(9)}  ${r.label ?? ''}\n`);
    });
  }
}
