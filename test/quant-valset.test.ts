// int8 and f16 against f32 on a trained model and a real validation set: one f32
// checkpoint converted to all three dtypes in memory, each loaded through the
// streaming loader, every image run on all three (official eval transform,
// batches of 32). Reports max |Δlogit|, cosine, top-1 agreement with f32 and the
// accuracy of each. Skipped unless pointed at data, because it takes many
// minutes on a software adapter:
//   VIM_VALSET_WEIGHTS=<f32 .safetensors/.pth with 'classes' metadata>
//   VIM_VALSET_IMAGES=<ImageFolder dir: <wnid>/<image>>  [VIM_VALSET_LIMIT=n] [VIM_VALSET_OUT=result.json]
// Targets (issue 5): top-1 agreement ≥ 99.9 % for f16, ≥ 99 % for int8.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { testGpu } from './gpu.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { VimGpu } from '../src/model/vim-gpu.js';
import { classesFor, metadataImageSize } from '../src/model/classes.js';
import { topK } from '../src/model/top-k.js';
import { decodeImage } from '../src/image/decode.js';
import { evalTransform } from '../src/image/preprocess.js';
import { bufferSource } from '../src/weights/source.js';
import { convertWeights } from '../src/weights/convert.js';
import { concatVimFile } from '../src/weights/format-write.js';
import { readSafetensorsHeader } from '../src/weights/safetensors.js';
import { loadWeights } from '../src/weights/stream-loader.js';
import { AgreementMeter } from '../src/eval/agreement.js';

const WEIGHTS = process.env.VIM_VALSET_WEIGHTS, IMAGES = process.env.VIM_VALSET_IMAGES;
const LIMIT = Number(process.env.VIM_VALSET_LIMIT ?? Infinity);
const DTYPES = ['f32', 'f16', 'int8'] as const;
const BATCH = 32;

let ctx: GpuContext;
beforeAll(async () => { if (WEIGHTS) ctx = await testGpu(); });
afterAll(() => { if (ctx) releaseGpu(ctx); });

/** Class folders round-robin, so a limit keeps every class. */
function samples(dir: string, wnids: Map<string, number>): Array<{ path: string; label: number }> {
  const perClass = readdirSync(dir).sort().filter((w) => wnids.has(w))
    .map((w) => readdirSync(join(dir, w)).sort().map((f) => ({ path: join(dir, w, f), label: wnids.get(w)! })));
  const out: Array<{ path: string; label: number }> = [];
  for (let i = 0; out.length < LIMIT && perClass.some((c) => i < c.length); i++) {
    for (const c of perClass) if (i < c.length && out.length < LIMIT) out.push(c[i]);
  }
  return out;
}

test.skipIf(!WEIGHTS || !IMAGES)('int8 and f16 against f32 on a validation set', async () => {
  const bytes = new Uint8Array(readFileSync(WEIGHTS!));
  const metadata = (await readSafetensorsHeader(bufferSource('w', bytes)).catch(() => ({ metadata: {} }))).metadata;
  const models = new Map<string, VimGpu>();
  const sizes: Record<string, number> = {};
  for (const dtype of DTYPES) {
    const file = concatVimFile(await convertWeights(bufferSource(basename(WEIGHTS!), bytes), { dtype }));
    sizes[dtype] = file.length;
    const r = await loadWeights(ctx, file, { cache: false });
    models.set(dtype, new VimGpu(ctx, r.config, r.weights));
  }
  const cfg = models.get('f32')!.config;
  const size = metadataImageSize(metadata) ?? 224;
  const classes = classesFor(cfg.numClasses, metadata) ?? [];
  const list = samples(IMAGES!, new Map(classes.filter((c) => c.wnid).map((c) => [c.wnid!, c.index])));
  expect(list.length).toBeGreaterThan(0);
  const C = cfg.numClasses;
  const stats = Object.fromEntries(DTYPES.map((d) => [d, { correct: 0, correct5: 0, agreement: new AgreementMeter(C), perClass: new Array<number>(C).fill(0) }]));
  const perClassN = new Array<number>(C).fill(0);
  const t0 = performance.now();
  for (let at = 0; at < list.length; at += BATCH) {
    const batch = list.slice(at, at + BATCH);
    // Always a full batch (the tail padded with zeros): one plan, one set of pipelines.
    const input = new Float32Array(BATCH * 3 * size * size);
    batch.forEach((s, i) => input.set(evalTransform(decodeImage(new Uint8Array(readFileSync(s.path)), s.path), size), i * 3 * size * size));
    const out = new Map<string, Float32Array>();
    for (const [d, m] of models) out.set(d, await m.forward(input, BATCH, size, size));
    if (at % (10 * BATCH) === 0) console.log(`${at + batch.length}/${list.length} images, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const ref = out.get('f32')!;
    for (const d of DTYPES) stats[d].agreement.add(ref.subarray(0, batch.length * C), out.get(d)!.subarray(0, batch.length * C));
    for (let i = 0; i < batch.length; i++) {
      perClassN[batch[i].label]++;
      for (const d of DTYPES) {
        const s = stats[d], top5 = topK(out.get(d)!.subarray(i * C, (i + 1) * C), 5).map((t) => t.index);
        if (top5[0] === batch[i].label) { s.correct++; s.perClass[batch[i].label]++; }
        if (top5.includes(batch[i].label)) s.correct5++;
      }
    }
  }
  const n = list.length;
  const rows = DTYPES.map((d) => {
    const a = stats[d].agreement.result();
    return {
      dtype: d, bytes: sizes[d], top1: stats[d].correct / n, top5: stats[d].correct5 / n,
      perClassTop1: classes.map((c) => ({ name: c.name, wnid: c.wnid, n: perClassN[c.index], top1: stats[d].perClass[c.index] / Math.max(1, perClassN[c.index]) })),
      agreeWithF32: a.top1Agreement, maxAbsLogit: a.maxAbsLogit, minCosine: a.minCosine, meanCosine: a.meanCosine,
    };
  });
  const result = { weights: basename(WEIGHTS!), images: n, size, seconds: (performance.now() - t0) / 1000, rows };
  console.log(JSON.stringify(result, null, 2));
  if (process.env.VIM_VALSET_OUT) writeFileSync(process.env.VIM_VALSET_OUT, JSON.stringify(result, null, 2) + '\n');
  for (const m of models.values()) m.dispose();
  expect(rows[1].agreeWithF32).toBeGreaterThanOrEqual(0.999);
  expect(rows[2].agreeWithF32).toBeGreaterThanOrEqual(0.99);
}, 6 * 3600_000);
