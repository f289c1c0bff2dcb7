// The npm package as a Node user gets it: `npm pack`, install the tarball (and
// the optional peer `webgpu`) into a bare project, classify tiny_image.png with
// tiny.pth through Dawn, and type-check a TypeScript consumer against the
// shipped .d.ts. Slow-ish (a build, an install): about a minute.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBin, fixturePath } from './fixtures.js';
import { topK } from '../src/model/top-k.js';
import { consumerProject, packTarball, ROOT, sh, tempDir } from './package-support.js';

let work: string;
let tarball: string;
let app: string;
beforeAll(() => {
  work = tempDir('pkg');
  tarball = packTarball(work);
  app = join(work, 'app');
  consumerProject(app, [tarball, join(ROOT, 'node_modules', 'webgpu'), join(ROOT, 'node_modules', 'typescript')]);
});
afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

test('the tarball: ESM with an exports map, .d.ts, inlined shaders, no sources or maps', () => {
  const files = sh('tar', ['-tzf', tarball], work).split('\n').filter(Boolean);
  expect(files).toContain('package/dist/index.js');
  expect(files).toContain('package/dist/index.d.ts');
  expect(files).toContain('package/dist/worker.js');
  expect(files).toContain('package/weights/vim-ti-imagenette.int8.safetensors');
  expect(files.some((f) => f.endsWith('.map') || f.includes('/src/') || f.endsWith('.wgsl'))).toBe(false);
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'vim-webgpu', 'package.json'), 'utf8'));
  expect(pkg).toMatchObject({
    type: 'module', sideEffects: false,
    exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
    peerDependencies: { webgpu: expect.any(String) }, peerDependenciesMeta: { webgpu: { optional: true } },
  });
  expect(pkg.dependencies.webgpu).toBeUndefined();
  const js = readFileSync(join(app, 'node_modules', 'vim-webgpu', 'dist', 'index.js'), 'utf8');
  expect(js).not.toMatch(/from ["']node:/); // nothing Node-only on the browser entry's static imports
  console.log(`package: ${(statSync(tarball).size / 1024).toFixed(1)} KiB packed, ${files.length} files`);
});

test('classifies tiny_image.png with tiny.pth through Dawn, like the engine in this repository', () => {
  writeFileSync(join(app, 'classify.mjs'), `
import { readFile } from 'node:fs/promises';
import { createClassifier } from 'vim-webgpu';
const classifier = await createClassifier({ weights: process.argv[2] });
const top = await classifier.classify(new Blob([await readFile(process.argv[3])]), { topK: 3 });
console.log(JSON.stringify({ top, info: classifier.info() }));
await classifier.dispose();
`);
  // The process must also exit by itself: a live Dawn device would keep it running.
  const out = sh('node', ['classify.mjs', fixturePath('tiny.pth'), fixturePath('tiny_image.png')], app);
  const { top, info } = JSON.parse(out.trim().split('\n').pop()!);
  expect(top[0].index).toBe(topK(readBin('tiny_logits.bin'), 1)[0].index);
  expect(info).toMatchObject({ backend: 'webgpu', resolution: 64 });
});

test('the bundled model ships in the package and is the default (no `weights`)', () => {
  writeFileSync(join(app, 'default.mjs'), `
import { createClassifier } from 'vim-webgpu';
const classifier = await createClassifier();
const gray = { data: new Uint8Array(200 * 150 * 3).fill(90), width: 200, height: 150 };
const top = await classifier.classify(gray, { topK: 10 });
console.log(JSON.stringify({ labels: top.map((p) => p.label).sort(), info: classifier.info() }));
await classifier.dispose();
`);
  const { labels, info } = JSON.parse(sh('node', ['default.mjs'], app).trim().split('\n').pop()!);
  expect(labels).toEqual(['English springer', 'French horn', 'cassette player', 'chain saw', 'church', 'garbage truck', 'gas pump', 'golf ball', 'parachute', 'tench']);
  expect(info).toMatchObject({ backend: 'webgpu', resolution: 128, dtype: 'int8' });
});

test('a strict TypeScript consumer type-checks against the shipped declarations', () => {
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, skipLibCheck: false, types: [] },
    files: ['consumer.ts'],
  }));
  writeFileSync(join(app, 'consumer.ts'), `
import { createClassifier, DeviceLostError, type Classifier, type Prediction, type ImageFeatures } from 'vim-webgpu';
export async function run(pixels: Uint8Array): Promise<[Prediction[], ImageFeatures]> {
  const c: Classifier = await createClassifier({ weights: 'model.pth', resolution: 384, interpolation: 'official', cpuFallback: true });
  try {
    return [await c.classify({ data: pixels, width: 2, height: 2 }, { topK: 1 }), await c.features(new Float32Array(3 * 384 * 384))];
  } catch (e) {
    if (e instanceof DeviceLostError) return run(pixels);
    throw e;
  } finally {
    await c.dispose();
  }
}
// @ts-expect-error: the interpolation modes are a closed set
void createClassifier({ interpolation: 'nearest' });
`);
  sh('node', [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
});
