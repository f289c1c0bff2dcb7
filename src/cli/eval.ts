// `vim-webgpu eval`: accuracy of a checkpoint on an ImageFolder directory (one
// sub-folder per class, named by WordNet id), with the official eval
// preprocessing on the CPU and batched inference on the GPU. Optionally saves the
// logits (float32, images × classes, in evaluation order) and compares them with
// logits saved by other runs over the same folder (e.g. int8 against f32).
import { parseArgs } from 'node:util';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { classesFor, metadataImageSize } from '../model/classes.js';
import { topK } from '../model/top-k.js';
import { decodeImage } from '../image/decode.js';
import { DEFAULT_CROP_RATIO, evalTransform } from '../image/preprocess.js';
import { AgreementMeter, type LogitAgreement } from '../eval/agreement.js';
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
      'crop-ratio': { type: 'string' }, 'save-logits': { type: 'string' }, 'compare-logits': { type: 'string', multiple: true },
    },
  });
  if (!values.weights || !values.images) throw new InputError('arguments', 'eval needs --weights FILE and --images DIR');
  const cropRatio = values['crop-ratio'] === undefined ? DEFAULT_CROP_RATIO : Number(values['crop-ratio']);
  if (!(cropRatio > 0 && cropRatio <= 1)) throw new InputError('--crop-ratio', `must be in (0, 1], got '${values['crop-ratio']}'`);
  const file = await readWeightsFile(values.weights);
  const { config, metadata } = file;
  const classes = classesFor(config.numClasses, metadata);
  if (!classes?.every((c) => c.wnid)) throw new InputError(values.weights, 'the file does not say which WordNet id each output is (needed to score an ImageFolder)');
  const wnidToIndex = new Map(classes.map((c) => [c.wnid!, c.index]));
  const size = values.size ? Number(values.size) : metadataImageSize(metadata) ?? nativeSize(config);
  const samples = await listImages(values.images, wnidToIndex, values.limit ? Number(values.limit) : undefined);
  const batch = Math.max(1, Number(values.batch));
  const C = config.numClasses;
  const compared = await Promise.all((values['compare-logits'] ?? []).map(async (path) => {
    const raw = await readFile(path).catch((e: Error) => { throw new InputError(path, `cannot read: ${e.message}`); });
    if (raw.byteLength !== samples.length * C * 4) {
      throw new InputError(path, `holds ${raw.byteLength} bytes; ${samples.length} images × ${C} classes of float32 need ${samples.length * C * 4} (saved from another folder, limit or model?)`);
    }
    const logits = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    return { path, logits, meter: new AgreementMeter(C) };
  }));
  const saved = values['save-logits'] ? new Float32Array(samples.length * C) : undefined;
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
        input.set(evalTransform(decodeImage(new Uint8Array(await readFile(s.path)), s.path), size, cropRatio), i * 3 * size * size);
      }));
      const logits = await vim.forward(input, chunk.length, size, size);
      saved?.set(logits, start * C);
      for (const c of compared) c.meter.add(c.logits.subarray(start * C, (start + chunk.length) * C), logits);
      chunk.forEach((s, i) => {
        const top = topK(logits.subarray(i * C, (i + 1) * C), 5).map((t) => t.index);
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
  if (saved) await writeFile(values['save-logits']!, new Uint8Array(saved.buffer));
  const agreement: Array<LogitAgreement & { logits: string }> = compared.map((c) => ({ logits: c.path, ...c.meter.result() }));
  const result = {
    weights: values.weights, dtype: file.dtype, images: samples.length, size, cropRatio, top1: top1 / samples.length, top5: top5 / samples.length, seconds,
    perClass: [...perClass.entries()].sort(([a], [b]) => a - b).map(([index, s]) => ({ index, name: classes[index].name, wnid: classes[index].wnid, n: s.n, top1: s.top1 / s.n })),
    ...(agreement.length ? { agreement } : {}),
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 1) + '\n');
    return;
  }
  process.stderr.write('\n');
  process.stdout.write(`${samples.length} images at ${size}px in ${seconds.toFixed(1)} s: top-1 ${(100 * result.top1).toFixed(2)} %, top-5 ${(100 * result.top5).toFixed(2)} %\n`);
  for (const c of result.perClass) process.stdout.write(`  ${c.wnid}  ${c.name.padEnd(18)} ${String(c.n).padStart(5)}  ${(100 * c.top1).toFixed(1).padStart(5)} %\n`);
  for (const a of agreement) {
    process.stdout.write(`against ${a.logits}: top-1 agreement ${(100 * a.top1Agreement).toFixed(2)} %, max |Δlogit| ${a.maxAbsLogit.toExponential(2)}, cosine min ${a.minCosine.toFixed(6)} mean ${a.meanCosine.toFixed(6)}\n`);
  }
}
