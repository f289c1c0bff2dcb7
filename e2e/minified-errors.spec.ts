// Error names and classes survive minification, in the page and across the
// worker. esbuild bundles and minifies (production settings: --minify, no
// keep-names) the package entry for a page, and the error modules with the wire
// format for a worker, as two separate bundles: each renames every class its own
// way, as an app's page bundle and its worker bundle do. In Chromium, every
// public error class must then have its literal name, its classes for
// `instanceof`, its message and fields, in the page and when thrown (or
// rejected) in the worker and re-created on the page (src/worker/wire-errors.ts),
// exactly as the unminified sources give them in Node. A second or so.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { build, type Plugin } from 'esbuild';
import * as engineErrors from '../src/errors.js';
import * as apiErrors from '../src/api/errors.js';
import { ERROR_CLASSES, describeSamples } from './bundlers/error-samples.js';
import { serveStatic, type StaticServer } from './bundlers/static-server.js';
import { ROOT, tempDir } from '../test/package-support.js';

/** The shaders' `?raw` imports (a Vite feature), as text. */
const rawImports: Plugin = {
  name: 'raw',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: join(a.resolveDir, a.path.slice(0, -4)), namespace: 'raw' }));
    b.onLoad({ filter: /.*/, namespace: 'raw' }, (a) => ({ contents: readFileSync(a.path, 'utf8'), loader: 'text' }));
  },
};

let work = '';
let server: StaticServer | undefined;

test.beforeAll(async () => {
  work = tempDir('minified');
  const result = await build({
    entryPoints: {
      'wire-page': join(ROOT, 'e2e', 'bundlers', 'wire-page.ts'),
      'wire-worker': join(ROOT, 'e2e', 'bundlers', 'wire-worker.ts'),
    },
    bundle: true, minify: true, format: 'esm', target: 'es2022', platform: 'browser', outdir: work,
    plugins: [rawImports], logLevel: 'silent', define: { 'process.env.NODE_ENV': '"production"' },
  });
  expect(result.errors).toEqual([]);
  expect(result.warnings.map((w) => w.text)).toEqual([]);
  writeFileSync(join(work, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./wire-page.js"></script>');
  server = await serveStatic(work);
});

test.afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('every error class keeps its name, instanceof, message and fields when minified, in the page and across the worker', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(server!.url);
  const handle = await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 60_000 });
  const r = await handle.jsonValue() as {
    error?: string; page: unknown; thrown: unknown; rejected: unknown; renamed: { page: string[]; worker: string[] };
  };
  expect(r.error).toBeUndefined();
  // The minifier renamed every class in both bundles: only literal names can pass below.
  expect(r.renamed.page).toEqual(ERROR_CLASSES);
  expect(r.renamed.worker).toEqual(ERROR_CLASSES);
  // The unminified classes, as src/index.ts exports them (test/errors-names.test.ts checks that list).
  const expected = describeSamples({ ...engineErrors, ...apiErrors } as unknown as Record<string, unknown>);
  expect(Object.keys(expected)).toEqual(ERROR_CLASSES);
  expect(r.page).toEqual(expected);
  expect(r.thrown).toEqual(expected);
  expect(r.rejected).toEqual(expected);
  expect(pageErrors).toEqual([]);
});
