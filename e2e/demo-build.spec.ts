// The static build of the demo (`vite build` → relative URLs) served by a plain
// file server from a nested folder, as a static host would: it must load its
// bundled model and classify with no dev server behind it.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { test, expect } from '@playwright/test';
import { classify, newPage, PHOTOS, reference, screenshot, waitReady } from './demo-support.js';

const FOLDER = '/static/host/sub folder/demo/';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json',
};

let root = '';
let server: Server | undefined;
let origin = '';
const requested: string[] = [];

/** A minimal static file server: paths map to files under `dir`, folders to index.html. */
function serve(dir: string): Server {
  return createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requested.push(path);
    const file = resolve(dir, '.' + (path.endsWith('/') ? path + 'index.html' : path));
    if (!file.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then((body) => {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.byteLength });
      res.end(body);
    }, () => res.writeHead(404).end());
  });
}

test.beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vim-demo-build-'));
  const out = join(root, ...FOLDER.split('/').filter(Boolean));
  await promisify(execFile)('npx', ['vite', 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { timeout: 180_000 });
  server = serve(root);
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

test.afterAll(async () => {
  await new Promise((ok) => server?.close(ok));
  if (root) await rm(root, { recursive: true, force: true });
});

test('the static build works from a nested folder of a plain file server', async ({ browser }, info) => {
  const want = await reference(PHOTOS.cat);
  const { page, errors, close } = await newPage(browser);
  await page.goto(origin + encodeURI(FOLDER));
  await waitReady(page);
  await classify(page, PHOTOS.cat, want);
  await screenshot(page, info, 'demo-static-build.png');
  // Relative URLs only: nothing was asked for outside the demo's folder.
  expect(requested.filter((p) => !p.startsWith(FOLDER))).toEqual([]);
  expect(requested.some((p) => /vim-ti-imagenette\.int8.*\.safetensors$/.test(p)), 'the bundled weights came from the build folder').toBe(true);
  expect(errors).toEqual([]);
  await close();
});
