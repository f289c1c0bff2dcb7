// The packed tarball (`npm pack`) in the two bundlers apps use most besides Vite
// (e2e/package.spec.ts): a webpack 5 production build and a minified esbuild
// build of one sample app (e2e/bundlers/app), served as static files and run in
// Chromium. Each classifies a photo with the bundled model in the package's
// Web Worker: webpack finds the worker and the model by itself, esbuild through
// the documented options (`workerUrl`, `weights`). Both builds must print no
// warning about the package, and both must keep the error contract minified:
// every class's name and instanceof in the page, errors raised in the worker
// re-created on the page, and a worker script that does not load rejecting with
// WorkerUnavailableError within 2 s. Both apps are built once, in beforeAll,
// from one install of the tarball (about 20 s on 2 cores, the pack included).
import { copyFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { build } from 'esbuild';
import { consumerProject, installedDependencies, ROOT, sh, sharedTarball, tempDir } from '../test/package-support.js';
import { PHOTOS, reference, type Expected } from './demo-support.js';
import * as engineErrors from '../src/errors.js';
import * as apiErrors from '../src/api/errors.js';
import { ERROR_CLASSES, describeSamples, type ErrorDescription } from './bundlers/error-samples.js';
import { serveStatic, type StaticServer } from './bundlers/static-server.js';

let work = '';
let server: StaticServer | undefined;
let want: Expected;
/** webpack's warnings that are performance hints about the app's asset sizes, kept for the log. */
let webpackHints: string[] = [];

const PAGE = (script: string) =>
  `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./${script}"></script>`;

/** webpack's size hints (any app over 244 KiB gets them), not warnings about a module. */
const isPerformanceHint = (message: string) => /^(asset size limit|entrypoint size limit|webpack performance recommendations)\b/.test(message);

test.beforeAll(async ({}, info) => {
  info.setTimeout(300_000);
  const t0 = Date.now();
  work = tempDir('bundlers');
  const app = join(work, 'app');
  // The bundlers run from this repository's node_modules (pinned devDependencies); the app has the
  // tarball, and its dependencies linked from node_modules (no registry needed after `npm ci`).
  consumerProject(app, [sharedTarball(), ...installedDependencies()]);
  cpSync(join(ROOT, 'e2e', 'bundlers', 'app'), app, { recursive: true });
  copyFileSync(join(ROOT, 'e2e', 'bundlers', 'error-samples.js'), join(app, 'src', 'error-samples.js'));
  copyFileSync(join(ROOT, PHOTOS.cat), join(app, 'chelsea.png'));
  copyFileSync(join(ROOT, 'weights', 'vim-ti-imagenette.int8.safetensors'), join(app, 'model.safetensors')); // served slowly for the abort
  const installed = Date.now();

  // webpack 5, production mode (terser), through its CLI as an app would run it.
  sh(process.execPath, [join(ROOT, 'node_modules', 'webpack-cli', 'bin', 'cli.js'), '--config', 'webpack.config.js', '--json', 'webpack-stats.json'], app);
  const stats = JSON.parse(readFileSync(join(app, 'webpack-stats.json'), 'utf8')) as { errors: Array<{ message: string }>; warnings: Array<{ message: string }> };
  expect(stats.errors.map((e) => e.message)).toEqual([]);
  // No warning about a module (before: "Critical dependency: the request of a dependency is an expression" from dist/index.js).
  expect(stats.warnings.map((w) => w.message).filter((m) => !isPerformanceHint(m))).toEqual([]);
  webpackHints = stats.warnings.map((w) => w.message.split('\n')[0]);
  writeFileSync(join(app, 'dist-webpack', 'index.html'), PAGE('main.js'));
  const webpacked = Date.now();

  // esbuild, minified: the app and the package's worker as two entry points, the model through the file loader.
  const result = await build({
    absWorkingDir: app,
    entryPoints: [{ in: 'src/esbuild-main.js', out: 'main' }, { in: 'vim-webgpu/worker', out: 'vim-webgpu-worker' }],
    bundle: true, minify: true, format: 'esm', target: 'es2022', platform: 'browser', outdir: 'dist-esbuild',
    loader: { '.safetensors': 'file' }, logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  expect(result.warnings.map((w) => `${w.location?.file ?? ''}: ${w.text}`)).toEqual([]);
  writeFileSync(join(app, 'dist-esbuild', 'index.html'), PAGE('main.js'));
  const esbuilt = Date.now();

  server = await serveStatic(app);
  want = await reference(PHOTOS.cat);
  expect(want.margin, 'top-1 must be clear of top-2 for a stable check').toBeGreaterThan(1e-3);
  console.log(`bundlers: install ${installed - t0} ms (pack included on first use), webpack ${webpacked - installed} ms, ` +
    `esbuild ${esbuilt - webpacked} ms, reference ${Date.now() - esbuilt} ms; webpack hints: ${webpackHints.join(' | ') || 'none'}`);
});

test.afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Failure extends ErrorDescription { ms: number }
interface AppResult {
  error?: string;
  top: Array<{ index: number; label: string; score: number }>;
  info: { backend: string; resolution: number; dtype: string };
  errors: {
    page: Record<string, ErrorDescription>; renamed: string[];
    fetch: Failure | string; format: Failure | string; abort: Failure | string; badWorkerUrl: Failure | string; defaultWorker?: Failure | string;
  };
}

/** Loads an app's page; resolves with its result, the workers it started and what it logged as warnings or errors. */
async function runApp(page: Page, path: string): Promise<{ r: AppResult; workers: string[]; logged: string[] }> {
  const workers: string[] = [], logged: string[] = [], pageErrors: string[] = [];
  page.on('worker', (w) => workers.push(new URL(w.url()).pathname));
  page.on('console', (m) => {
    if (m.type() === 'warning' || m.type() === 'error') logged.push(`${m.text()} ${m.location().url}`);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const t0 = Date.now();
  await page.goto(`${server!.url}${path}`);
  const handle = await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 240_000 });
  const r = await handle.jsonValue() as AppResult;
  console.log(`${path}: result in ${Date.now() - t0} ms; workers ${workers.join(', ')}`);
  expect(pageErrors).toEqual([]);
  return { r, workers, logged };
}

/** What both apps must show: the photo classified in the worker, and the error contract intact though minified. */
function checkApp(r: AppResult, workers: string[], logged: string[], missing: string[]): void {
  expect(r.error).toBeUndefined();
  expect(r.top[0].label).toBe(want.label);
  expect(Math.abs(r.top[0].score - want.score)).toBeLessThan(0.01);
  expect(r.info).toMatchObject({ backend: 'webgpu', resolution: 128, dtype: 'int8' });
  const e = r.errors;
  // Minified: every class was renamed, yet names, classes, messages and fields are those of the sources.
  expect(e.renamed).toEqual(ERROR_CLASSES);
  expect(e.page).toEqual(describeSamples({ ...engineErrors, ...apiErrors } as unknown as Record<string, unknown>));
  const named = (f: Failure | string | undefined, cls: string) => {
    expect(typeof f === 'object' ? `${f.name}: ${f.message}` : f, cls).toMatch(new RegExp(`^${cls}: `));
    const d = f as Failure;
    expect(d.string.startsWith(`${cls}: `)).toBe(true);
    expect(d.instanceOf).toContain(cls);
    expect(d.instanceOf).toContain('VimError');
    return d;
  };
  const fetched = named(e.fetch, 'WeightFetchError');
  expect(fetched.fields).toMatchObject({ status: 404 });
  named(e.format, 'WeightFormatError');
  named(e.abort, 'AbortError');
  const bad = named(e.badWorkerUrl, 'WorkerUnavailableError');
  expect(bad.message).toContain('no-such-worker.js');
  expect(bad.ms, 'a worker script that fails to load is reported at once, not after the 20 s guard').toBeLessThan(2000);
  console.log(`WorkerUnavailableError for a missing worker script after ${bad.ms} ms`);
  // The worker that classified: this bundler's worker chunk (never the missing scripts).
  expect(workers.length).toBeGreaterThan(0);
  // Only the deliberately missing files may be complained about (the browser logs each 404).
  expect(logged.filter((l) => !missing.some((m) => l.includes(m)))).toEqual([]);
}

test('webpack 5 production: the worker and the bundled model resolve by themselves; errors stay typed', async ({ page }) => {
  const { r, workers, logged } = await runApp(page, 'dist-webpack/');
  checkApp(r, workers, logged, ['missing.safetensors', 'no-such-worker.js']);
  expect(workers[0]).toMatch(/^\/dist-webpack\/[^/]+\.js$/);
});

test('esbuild (minified): the worker and the model through workerUrl and weights; without workerUrl a typed error at once', async ({ page }) => {
  const { r, workers, logged } = await runApp(page, 'dist-esbuild/');
  checkApp(r, workers, logged, ['missing.safetensors', 'no-such-worker.js', '/dist-esbuild/worker.js']);
  expect(workers[0]).toBe('/dist-esbuild/vim-webgpu-worker.js');
  // The package's default worker URL, which esbuild leaves as is and does not emit.
  const d = r.errors.defaultWorker as Failure;
  expect(`${d.name}: ${d.message}`).toMatch(/^WorkerUnavailableError: .*workerUrl/);
  expect(d.ms).toBeLessThan(2000);
  console.log(`WorkerUnavailableError without workerUrl after ${d.ms} ms: ${d.message}`);
});
