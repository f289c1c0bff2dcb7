// Which position-table interpolation keeps accuracy better when the bundled
// model (trained at 128 px) runs at other resolutions? Measured through the
// public API on Imagenette val images, in an ImageFolder directory (one folder
// per WordNet id). Skipped unless VIM_EVAL_IMAGES names that directory; it
// takes minutes on a software adapter:
//   VIM_EVAL_IMAGES=<imagenette>/val VIM_EVAL_PER_CLASS=10 VIM_EVAL_SIZES=96,160,224 \
//     npm run test:unit -- test/api-interpolation-accuracy.test.ts
// Prints top-1 per size and mode; asserts only that the native size matches
// the model card's range (the comparison itself is the result).
import { expect, test } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClassifier, type Interpolation } from '../src/index.js';
import { decodeImage } from '../src/image/decode.js';
import { evalTransform } from '../src/image/preprocess.js';
import { classesFor } from '../src/model/classes.js';
import { readSafetensorsHeader } from '../src/weights/safetensors.js';
import { bufferSource } from '../src/weights/index.js';
import { BUNDLED_MODEL_URL } from '../src/bundled-model.js';
import { fileURLToPath } from 'node:url';

const dir = process.env.VIM_EVAL_IMAGES;
const perClass = Number(process.env.VIM_EVAL_PER_CLASS ?? 10);
const sizes = (process.env.VIM_EVAL_SIZES ?? '96,160,224').split(',').map(Number);

test.skipIf(!dir)('top-1 of the bundled model at other resolutions, official vs corrected position tables', async () => {
  const file = new Uint8Array(readFileSync(fileURLToPath(BUNDLED_MODEL_URL)));
  const { metadata } = await readSafetensorsHeader(bufferSource('bundled', file));
  const classes = classesFor(10, metadata)!;
  const samples: Array<{ path: string; label: number }> = [];
  for (const c of classes) {
    const files = readdirSync(join(dir!, c.wnid!)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, perClass);
    for (const f of files) samples.push({ path: join(dir!, c.wnid!, f), label: c.index });
  }
  const images = samples.map((s) => decodeImage(new Uint8Array(readFileSync(s.path)), s.path));
  const accuracy = async (size: number | undefined, interpolation: Interpolation) => {
    const c = await createClassifier({ weights: file, resolution: size, interpolation, worker: false, maxBatch: 8 });
    const s = c.info().resolution;
    const tensors = images.map((img) => evalTransform(img, s));
    const top = await c.classifyBatch(tensors, { topK: 1 });
    await c.dispose();
    return top.map((t, i) => t[0].index === samples[i].label);
  };
  const pct = (hits: boolean[]) => `${(100 * hits.filter(Boolean).length / hits.length).toFixed(1)} %`;
  const rows: string[] = [];
  const table: Array<{ size: number; official: number; corrected: number; onlyOfficial: number; onlyCorrected: number }> = [];
  const rate = (hits: boolean[]) => hits.filter(Boolean).length / hits.length;
  const t0 = performance.now();
  const native = process.env.VIM_EVAL_SKIP_NATIVE ? undefined : await accuracy(undefined, 'corrected');
  if (native) rows.push(`128 (native) | ${pct(native)} | (same table) | |`);
  for (const size of sizes) {
    const official = await accuracy(size, 'official');
    const corrected = await accuracy(size, 'corrected');
    // Paired: images only one mode gets right (the comparison that sampling noise affects least).
    const onlyOfficial = official.filter((ok, i) => ok && !corrected[i]).length;
    const onlyCorrected = corrected.filter((ok, i) => ok && !official[i]).length;
    rows.push(`${size} | ${pct(official)} | ${pct(corrected)} | ${onlyOfficial} / ${onlyCorrected} |`);
    table.push({ size, official: rate(official), corrected: rate(corrected), onlyOfficial, onlyCorrected });
    console.log(rows.at(-1));
  }
  console.log(`bundled model, ${samples.length} Imagenette val images (${perClass} per class), ${((performance.now() - t0) / 1000).toFixed(0)} s\n` +
    `size | official | corrected | right only with official / only with corrected |\n${rows.join('\n')}`);
  if (process.env.VIM_EVAL_OUT) {
    writeFileSync(process.env.VIM_EVAL_OUT, JSON.stringify({ images: samples.length, perClass, native: native && rate(native), sizes: table }, null, 2) + '\n');
  }
  if (native) expect(native.filter(Boolean).length / native.length).toBeGreaterThan(0.5);
}, 4 * 3600_000);
