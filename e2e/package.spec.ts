// The npm package as a web developer gets it: pack, install the tarball into a
// fresh Vite app (no `webgpu` package: it is an optional peer for Node), build
// it, serve the build with `vite preview`, and classify in Chromium, both in
// the package's Web Worker (the default in a page, bundled by the app's Vite)
// and in the page (worker: false).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { consumerProject, installedDependencies, ROOT, sh, sharedTarball, tempDir } from '../test/package-support.js';
import { fixturePath, readBin } from '../test/fixtures.js';
import { topK } from '../src/model/top-k.js';

let work = '';
let server: ChildProcess | undefined;
let url = '';

const MAIN = `
import { createClassifier } from 'vim-webgpu';
async function run(options) {
  const classifier = await createClassifier({ weights: '/tiny.pth', ...options });
  const img = new Image();
  img.src = '/tiny_image.png';
  await img.decode();
  const fromImage = await classifier.classify(img, { topK: 3 });
  const fromFile = await classifier.classify(await (await fetch('/tiny_image.png')).blob(), { topK: 3 });
  const info = classifier.info();
  await classifier.dispose();
  return { fromImage, fromFile, info };
}
async function main() {
  // The default in a page is the bundled Web Worker; worker: false runs WebGPU in the page.
  const worker = await run({}), page = await run({ worker: false });
  // No weights at all: the bundled model, which the app's bundler copied in as an asset.
  const bundled = await createClassifier();
  const gray = { data: new Uint8Array(200 * 150 * 3).fill(90), width: 200, height: 150 };
  const labels = (await bundled.classify(gray, { topK: 10 })).map((p) => p.label).sort();
  const info = bundled.info();
  await bundled.dispose();
  return { worker, page, bundled: { labels, info } };
}
main().then((r) => { window.result = r; }, (e) => { window.result = { error: String(e && e.stack || e) }; });
`;

/** Starts `vite preview` and resolves with the URL it prints (it picks a free port). */
function preview(app: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server = spawn(process.execPath, [join('node_modules', 'vite', 'bin', 'vite.js'), 'preview', '--host', '127.0.0.1', '--port', '4390'],
      { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\/?/.exec(text.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) resolve(m[0]);
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.on('exit', (code) => reject(new Error(`vite preview exited (${code}): ${text}`)));
  });
}

test.beforeAll(async ({}, info) => {
  info.setTimeout(300_000);
  work = tempDir('vite-app');
  const tarball = sharedTarball();
  const app = join(work, 'app');
  consumerProject(app, [tarball, ...installedDependencies(), join(ROOT, 'node_modules', 'vite')]);
  expect(existsSync(join(app, 'node_modules', 'webgpu')), 'the optional peer is not installed').toBe(false);
  mkdirSync(join(app, 'public'));
  copyFileSync(fixturePath('tiny.pth'), join(app, 'public', 'tiny.pth'));
  copyFileSync(fixturePath('tiny_image.png'), join(app, 'public', 'tiny_image.png'));
  writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/main.js"></script>');
  writeFileSync(join(app, 'main.js'), MAIN);
  sh(process.execPath, [join('node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], app);
  url = await preview(app);
});

test.afterAll(() => {
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a Vite app built against the packed tarball classifies in Chromium', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  const handle = await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 120_000 });
  type Run = { fromImage: Array<{ index: number }>; fromFile: Array<{ index: number }>; info: unknown };
  const result = await handle.jsonValue() as { error?: string; worker: Run; page: Run; bundled: { labels: string[]; info: unknown } };
  expect(result.error).toBeUndefined();
  const top1 = topK(readBin('tiny_logits.bin'), 1)[0].index;
  for (const run of [result.worker, result.page]) {
    expect(run.fromImage[0].index).toBe(top1);
    expect(run.fromFile[0].index).toBe(top1);
    expect(run.info).toMatchObject({ backend: 'webgpu', resolution: 64 });
  }
  expect(result.bundled.labels).toEqual(['English springer', 'French horn', 'cassette player', 'chain saw', 'church', 'garbage truck',
    'gas pump', 'golf ball', 'parachute', 'tench']);
  expect(result.bundled.info).toMatchObject({ backend: 'webgpu', resolution: 128, dtype: 'int8' });
  expect(errors).toEqual([]);
});
