// The demo page (demo/) in real Chromium on SwiftShader, with the bundled default
// model (today the tiny fixture). Expected classes are not hard-coded: each test
// computes them with the float64 reference forward in Node from the same files.
import { readFile } from 'node:fs/promises';
import { test, expect, type Browser, type Page, type TestInfo } from '@playwright/test';
import { applyOrientation, decodeImage, evalTransform } from '../src/image/index.js';
import { bufferSource, loadVimWeights } from '../src/weights/index.js';
import { referenceForward } from '../src/reference/vim.js';
import { softmax, topK } from '../src/model/top-k.js';

// Must match DEFAULT_MODEL in demo/src/models.ts (its weights, labels and input size).
const WEIGHTS = 'test/fixtures/vim/tiny.pth';
const SIZE = 64;
const label = (i: number) => `class ${i}`;
const PHOTOS = { cat: 'test/photos/chelsea.png', coffee: 'test/photos/coffee.png' };

interface Expected { label: string; score: number; margin: number }

/** Top-1 of the reference forward, decoded and preprocessed the way the page does it. */
async function reference(photo: string): Promise<Expected> {
  const { config, tensors } = await loadVimWeights(bufferSource(WEIGHTS, new Uint8Array(await readFile(WEIGHTS))));
  const decoded = decodeImage(new Uint8Array(await readFile(photo)), photo);
  const input = evalTransform(applyOrientation(decoded, decoded.orientation), SIZE);
  const { logits } = referenceForward(tensors, config, input, 1, SIZE, SIZE);
  const [first, second] = topK(softmax(logits), 2);
  return { label: label(first.index), score: first.value, margin: first.value - second.value };
}

/** Uncaught page errors fail the test; console output goes to the test log. */
function watch(page: Page): Error[] {
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => {
    if (m.type() !== 'debug') console.log(`[browser ${m.type()}] ${m.text().slice(0, 300)}`);
  });
  return errors;
}

async function waitReady(page: Page): Promise<void> {
  await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 240_000 });
}

async function classify(page: Page, photo: string, want: Expected): Promise<void> {
  // The result list counts results: wait for a new one, not an old one with the same label.
  const before = Number(await page.locator('#bars').getAttribute('data-results') ?? 0);
  await page.getByTestId('file-input').setInputFiles(photo);
  await expect(page.locator('#bars')).toHaveAttribute('data-results', String(before + 1), { timeout: 120_000 });
  await expect(page.getByTestId('top1-label')).toHaveText(want.label);
  // The page prints one decimal of a percentage; GPU float32 vs float64 differ far less.
  const shown = Number((await page.getByTestId('top1-score').textContent())!.replace('%', ''));
  expect(Math.abs(shown - 100 * want.score)).toBeLessThanOrEqual(0.051);
}

/** Page load → status ready → photo chosen → top-1 shown, in ms; also the weight requests seen. */
async function timedFirstResult(page: Page, photo: string, want: Expected, reload: boolean): Promise<{ ms: number; weightRequests: number }> {
  let weightRequests = 0;
  const count = (r: { url(): string }) => { if (r.url().includes('tiny')) weightRequests++; };
  page.on('request', count);
  const t0 = Date.now();
  if (reload) await page.reload();
  else await page.goto('/demo/');
  await waitReady(page);
  await classify(page, photo, want);
  const ms = Date.now() - t0;
  page.off('request', count);
  return { ms, weightRequests };
}

async function screenshot(page: Page, info: TestInfo, name: string): Promise<void> {
  const path = info.outputPath(name);
  await page.screenshot({ path, fullPage: true });
  await info.attach(name, { path, contentType: 'image/png' });
}

async function newPage(browser: Browser, init?: () => void): Promise<{ page: Page; errors: Error[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  return { page, errors: watch(page), close: () => context.close() };
}

test('classifies a photo like the reference; cold and cached load → first result', async ({ browser }, info) => {
  const want = await reference(PHOTOS.cat);
  expect(want.margin, 'top-1 must be clear of top-2 for a stable check').toBeGreaterThan(1e-3);
  const { page, errors, close } = await newPage(browser);

  const cold = await timedFirstResult(page, PHOTOS.cat, want, false);
  await screenshot(page, info, 'demo-result.png');
  // Same context, new page load: the weights come from Cache Storage, not the network.
  const cached = await timedFirstResult(page, PHOTOS.cat, want, true);
  const timings = { coldMs: cold.ms, cachedMs: cached.ms, inPageFirstResultMs: Number(await page.locator('html').getAttribute('data-first-result-ms')) };
  console.log(`demo load → first result: cold ${cold.ms} ms, cached ${cached.ms} ms`);
  await info.attach('timings.json', { body: JSON.stringify(timings, null, 2), contentType: 'application/json' });
  expect(cold.weightRequests).toBe(1);
  expect(cached.weightRequests, 'a cached model loads with no network').toBe(0);
  expect(errors).toEqual([]);
  await close();
});

test('without WebGPU the page says what to do, and the CPU path still works', async ({ browser }, info) => {
  const { page, errors, close } = await newPage(browser, () => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await page.goto('/demo/');
  const notice = page.getByTestId('gpu-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('WebGPU is not available');
  await expect(notice).toContainText('Chrome or Edge');
  await expect(page.getByTestId('status')).toHaveText('unavailable');
  await screenshot(page, info, 'demo-no-webgpu.png');

  await page.getByRole('button', { name: /Run on the CPU/ }).click();
  await waitReady(page);
  await classify(page, PHOTOS.cat, await reference(PHOTOS.cat));
  expect(errors).toEqual([]);
  await close();
});

test('a corrupt checkpoint shows the error and the previous model keeps working', async ({ browser }, info) => {
  const [cat, coffee] = await Promise.all([reference(PHOTOS.cat), reference(PHOTOS.coffee)]);
  const { page, errors, close } = await newPage(browser);
  await page.goto('/demo/');
  await waitReady(page);
  await classify(page, PHOTOS.cat, cat);

  // A zip header followed by junk: looks like a .pth at first glance, is not one.
  const junk = [0x50, 0x4b, 0x03, 0x04, ...Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)];
  const drop = await page.evaluateHandle((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'vim_t_midclstok_76p1acc.pth'));
    return dt;
  }, junk);
  await page.getByTestId('checkpoint-drop').dispatchEvent('drop', { dataTransfer: drop });

  const message = page.getByTestId('message');
  await expect(message).toBeVisible();
  await expect(message).toContainText('not a Vim checkpoint');
  await expect(message).toContainText('previous model is still in use');
  await expect(page.getByTestId('status')).toHaveText('ready');
  await expect(page.getByRole('radio', { name: /test fixture/ })).toBeChecked();
  await screenshot(page, info, 'demo-corrupt-checkpoint.png');

  // The previous model still answers, for a new photo too.
  await classify(page, PHOTOS.coffee, coffee);
  expect(errors).toEqual([]);
  await close();
});
