// The demo page (demo/) in real Chromium on SwiftShader, with the bundled default
// model (the Imagenette Vim-Ti, int8). Expected classes are not hard-coded: each test
// computes them with the float64 reference forward in Node from the same files.
import { readFile } from 'node:fs/promises';
import { test, expect, type Page, type Request } from '@playwright/test';
import { classify, newPage, PHOTOS, reference, screenshot, waitReady, type Expected } from './demo-support.js';

/** Page load → status ready → photo chosen → top-1 shown, in ms; also the weight requests seen. */
async function timedFirstResult(page: Page, photo: string, want: Expected, reload: boolean): Promise<{ ms: number; weightRequests: number; headerRequests: number }> {
  // Whole-file downloads of the weights, and Range requests (the page reads the
  // header's metadata, class names and input size, before the worker streams the file).
  let weightRequests = 0, headerRequests = 0;
  const count = (r: Request) => {
    if (!r.url().includes('vim-ti-imagenette')) return;
    const range = r.headers()['range'];
    if (range === undefined) weightRequests++;
    else {
      headerRequests++;
      const [from, to] = range.replace('bytes=', '').split('-').map(Number);
      expect(to - from, `a header read, not the tensors: ${range}`).toBeLessThan(1 << 20);
    }
  };
  page.on('request', count);
  const t0 = Date.now();
  if (reload) await page.reload();
  else await page.goto('/demo/');
  await waitReady(page);
  await classify(page, photo, want);
  const ms = Date.now() - t0;
  page.off('request', count);
  return { ms, weightRequests, headerRequests };
}

test('classifies a photo like the reference; cold and cached load → first result', async ({ browser }, info) => {
  const want = await reference(PHOTOS.cat);
  expect(want.margin, 'top-1 must be clear of top-2 for a stable check').toBeGreaterThan(1e-3);
  const { page, errors, close } = await newPage(browser);

  const cold = await timedFirstResult(page, PHOTOS.cat, want, false);
  await screenshot(page, info, 'demo-result.png');
  // An adapter with timestamp queries (SwiftShader has them) gets a GPU time, not 'n/a'.
  if ((await page.locator('#m-features').textContent())!.split(' · ').includes('timestamp-query')) {
    await expect(page.locator('#m-gpu')).toHaveText(/^[\d.]+ m?s$/);
  }
  // Same context, new page load: the weights come from Cache Storage, not the network.
  const cached = await timedFirstResult(page, PHOTOS.cat, want, true);
  const timings = { coldMs: cold.ms, cachedMs: cached.ms, inPageFirstResultMs: Number(await page.locator('html').getAttribute('data-first-result-ms')) };
  console.log(`demo load → first result: cold ${cold.ms} ms, cached ${cached.ms} ms; weight requests cold ${cold.weightRequests} (+${cold.headerRequests} header ranges), cached ${cached.weightRequests} (+${cached.headerRequests})`);
  await info.attach('timings.json', { body: JSON.stringify(timings, null, 2), contentType: 'application/json' });
  expect(cold.weightRequests, 'the weights download once').toBe(1);
  expect(cached.weightRequests + cached.headerRequests, 'a cached model loads with no network').toBe(0);
  expect(errors).toEqual([]);
  await close();
});

test('without WebGPU the page says what to do, and the CPU path still works', async ({ browser, playwright }, info) => {
  // A browser with no navigator.gpu at all (stubbed in the page).
  const bare = await newPage(browser, () => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await bare.page.goto('/demo/');
  await expect(bare.page.getByTestId('gpu-notice')).toContainText('this browser has no navigator.gpu');
  await expect(bare.page.getByTestId('status')).toHaveText('unavailable');
  await bare.close();

  // Chromium without --enable-unsafe-webgpu: navigator.gpu exists but offers no adapter
  // (what a blocklisted GPU looks like), in the page and in workers alike.
  const launch = info.project.use.launchOptions ?? {};
  const noGpu = await playwright.chromium.launch({ ...launch, args: (launch.args ?? []).filter((a) => !a.includes('webgpu')) });
  const { page, errors } = await newPage(noGpu);
  await page.goto(new URL('/demo/', info.project.use.baseURL).href);
  const notice = page.getByTestId('gpu-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('WebGPU is not available');
  await expect(notice).toContainText('Chrome or Edge');
  await expect(notice).toContainText('no GPU adapter');
  await expect(page.getByTestId('status')).toHaveText('unavailable');
  await screenshot(page, info, 'demo-no-webgpu.png');

  await page.getByRole('button', { name: /Run on the CPU/ }).click();
  await waitReady(page);
  await expect(page.locator('#m-adapter')).toContainText('CPU');
  await classify(page, PHOTOS.cat, await reference(PHOTOS.cat));
  expect(errors).toEqual([]);
  await noGpu.close();
});

/** A DataTransfer in the page holding one file with the given bytes (for drop and paste events). */
async function transfer(page: Page, name: string, bytes: number[], type = '') {
  return page.evaluateHandle(([n, b, t]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], n, { type: t }));
    return dt;
  }, [name, bytes, type] as const);
}

async function waitForResults(page: Page, atLeast: number): Promise<void> {
  await expect.poll(async () => Number(await page.locator('#bars').getAttribute('data-results') ?? 0), { timeout: 120_000 })
    .toBeGreaterThanOrEqual(atLeast);
}

test('every input path (file, keyboard, paste, drop, camera live); a corrupt checkpoint keeps the model', async ({ playwright }, info) => {
  const [cat, coffee] = await Promise.all([reference(PHOTOS.cat), reference(PHOTOS.coffee)]);
  // Chromium's fake camera (a moving test pattern), permission granted without a prompt.
  const launch = info.project.use.launchOptions ?? {};
  const browser = await playwright.chromium.launch({
    ...launch, args: [...(launch.args ?? []), '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  const { page, errors } = await newPage(browser);
  await page.goto(new URL('/demo/', info.project.use.baseURL).href);
  await waitReady(page);
  await classify(page, PHOTOS.cat, cat);

  // Keyboard: the image area is a button that opens the file picker.
  await page.locator('#stage').focus();
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
  await chooser.setFiles(PHOTOS.coffee);
  await waitForResults(page, 2);
  await expect(page.getByTestId('top1-score')).toHaveText(`${(100 * coffee.score).toFixed(1)}%`);

  // Paste (a copied image) and drop (onto the image area).
  const paste = await transfer(page, 'cat.png', [...await readFile(PHOTOS.cat)], 'image/png');
  await page.evaluate((dt) => window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt })), paste);
  await waitForResults(page, 3);
  await expect(page.getByTestId('top1-score')).toHaveText(`${(100 * cat.score).toFixed(1)}%`);
  const drop = await transfer(page, 'coffee.png', [...await readFile(PHOTOS.coffee)], 'image/png');
  await page.locator('#stage').dispatchEvent('drop', { dataTransfer: drop });
  await waitForResults(page, 4);
  await expect(page.getByTestId('top1-score')).toHaveText(`${(100 * coffee.score).toFixed(1)}%`);

  // Camera: one frame, then live mode with a frames/s readout.
  await page.getByRole('button', { name: 'Camera' }).click();
  await expect(page.locator('#video')).toBeVisible();
  await page.getByRole('button', { name: 'Classify frame' }).click();
  await waitForResults(page, 5);
  await page.getByRole('switch', { name: 'Live' }).check({ force: true });
  await waitForResults(page, 9);
  await expect(page.locator('#fps')).toHaveText(/^\d+(\.\d)? frames\/s$/);
  console.log(`live mode on SwiftShader: ${await page.locator('#fps').textContent()}`);
  await screenshot(page, info, 'demo-camera-live.png');
  await page.getByRole('button', { name: 'Camera' }).click();
  await expect(page.locator('#fps')).toBeHidden();

  // A zip header followed by junk: looks like a .pth at first glance, is not one.
  const junk = [0x50, 0x4b, 0x03, 0x04, ...Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)];
  await page.getByTestId('checkpoint-drop').dispatchEvent('drop', { dataTransfer: await transfer(page, 'vim_t_midclstok_76p1acc.pth', junk) });
  const message = page.getByTestId('message');
  await expect(message).toBeVisible();
  await expect(message).toContainText('not a Vim checkpoint');
  await expect(message).toContainText('previous model is still in use');
  await expect(page.getByTestId('status')).toHaveText('ready');
  await expect(page.getByRole('radio', { name: /Imagenette/ })).toBeChecked();
  await screenshot(page, info, 'demo-corrupt-checkpoint.png');

  // The previous model still answers, for a new photo too.
  await classify(page, PHOTOS.coffee, coffee);
  expect(errors).toEqual([]);
  await browser.close();
});
