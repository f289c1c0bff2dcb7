// `vim-webgpu eval`: accuracy of a checkpoint on an ImageFolder directory (one
// sub-folder per class, named by WordNet id), with the official eval
// preprocessing on the CPU and batched inference on the GPU.
import { parseArgs } from 'node:util';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { classesFor, metadataImageSize } from '../model/classes.js';
import { topK } from '../model/top-k.js';
import { decodeImage } from '../image/decode.js';
import { evalTransform } from '../image/preprocess.js';
import { acquireGpu, releaseGpu } from '../gpu/context.js';
import { nodeGpu } from '../gpu/node.js';
import { modelOnGpu, readWeightsFile } from './weights-file.js';
import { nativeSize } from './infer.js';

interface Sample { path: string; label: number }

async function listImages(dir: string, wnidToIndex: Map<string, number>, limit?: number): Promise<Sample[]> {
  const folders = (await readdir(dir, { withFileTypes: true }).catch((e: Error) => { throw new InputError(dir, `cannot read: ${e.message}`); }))
    .filter((d) => d.isDirectory()).map((d) => d.name).sort();
  if (folders.length === 0) throw new InputError(dir, 'no class sub-folders (expected ImageFolder layout: DIR/<wnid>/<image>)');
  const perClass: Sample[][] = [];
  for (const wnid of folders) {
    const label = wnidToIndex.get(wnid);
    if (label === undefined) throw new InputError(join(dir, wnid), `folder name is not one of the model's classes (WordNet ids)`);
    const files = (await readdir(join(dir, wnid))).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    perClass.push(files.map((f) => ({ path: join(dir, wnid, f), label })));
  }
  // Round-robin over classes so that --limit keeps every class represented.
  const out: Sample[] = [];
  for (let i = 0; out.length < (limit ?? Infinity); i++) {
    let added = false;
    for (const c of perClass) if (i < c.length && out.length < (limit ?? Infinity)) { out.push(c[i]); added = true; }
    if (!added) break;
  }
  return out;
}

export async function evaluate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      weights: { type: 'string' }, images: { type: 'string' }, size: { type: 'string' },
      limit: { type: 'string' }, batch: { type: 'string', default: '32' }, json: { type: 'boolean', default: false },
    },
  });
  if (!values.weights || !values.images) throw new InputError('arguments', 'eval needs --weights FILE and --images DIR');
  const file = await readWeightsFile(values.weights);
  const { config, metadata } = file;
  const classes = classesFor(config.numClasses, metadata);
  if (!classes?.every((c) => c.wnid)) throw new InputError(values.weights, 'the file does not say which WordNet id each output is (needed to score an ImageFolder)');
  const wnidToIndex = new Map(classes.map((c) => [c.wnid!, c.index]));
  const size = values.size ? Number(values.size) : metadataImageSize(metadata) ?? nativeSize(config);
  const samples = await listImages(values.images, wnidToIndex, values.limit ? Number(values.limit) : undefined);
  const batch = Math.max(1, Number(values.batch));
  const ctx = await acquireGpu({ gpu: await nodeGpu() });
  const vim = await modelOnGpu(ctx, file);
  const perClass = new Map<number, { n: number; top1: number }>();
  let top1 = 0, top5 = 0;
  const t0 = performance.now();
  try {
    for (let start = 0; start < samples.length; start += batch) {
      const chunk = samples.slice(start, start + batch);
      const input = new Float32Array(chunk.length * 3 * size * size);
      await Promise.all(chunk.map(async (s, i) => {
        input.set(evalTransform(decodeImage(new Uint8Array(await readFile(s.path)), s.path), size), i * 3 * size * size);
      }));
      const logits = await vim.forward(input, chunk.length, size, size);
      chunk.forEach((s, i) => {
        const top = topK(logits.subarray(i * config.numClasses, (i + 1) * config.numClasses), 5).map((t) => t.index);
        const stat = perClass.get(s.label) ?? { n: 0, top1: 0 };
        stat.n++;
        if (top[0] === s.label) { top1++; stat.top1++; }
        if (top.includes(s.label)) top5++;
        perClass.set(s.label, stat);
      });
      if (!values.json) process.stderr.write(`\r${Math.min(start + batch, samples.length)}/${samples.length}`);
    }
  } finally {
    vim.dispose();
    releaseGpu(ctx);
  }
  const seconds = (performance.now() - t0) / 1000;
  const result = {
    weights: values.weights, dtype: file.dtype, images: samples.length, size, top1: top1 / samples.length, top5: top5 / samples.length, seconds,
    perClass: [...perClass.entries()].sort(([a], [b]) => a - b).map(([index, s]) => ({ index, name: classes[index].name, wnid: classes[index].wnid, n: s.n, top1: s.top1 / s.n })),
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 1) + '\n');
    return;
  }
  process.stderr.write('\n');
  process.stdout.write(`${samples.length} images at ${size}px in ${seconds.toFixed(1)} s: top-1 ${(100 * result.top1).toFixed(2)} %, top-5 ${(100 * result.top5).toFixed(2)} %\n`);
  for (const c of result.perClass) process.stdout.write(`  ${c.wnid}  ${c.name.padEnd(18)} ${String(c.n).padStart(5)}  ${(100 * c.top1).toFixed(1).padStart(5)} %\n`);
}
