// "Use your own checkpoint": a visitor drops a 1000-class Vim state dict (here a
// small procedural one written as safetensors, so the test needs no download);
// the page loads it, names its classes with the ImageNet labels, and the
// resolution selector re-runs it at another input size, the precision selector
// with int8 weights.
import { test, expect } from '@playwright/test';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { newPage, PHOTOS, reference, screenshot, waitReady, classify } from './demo-support.js';
import { imagenetLabels } from '../src/model/labels.js';

test('a dropped 1000-class safetensors checkpoint runs with ImageNet labels, also at 224 px and in int8', async ({ browser }, info) => {
  // 2 layers of width 32 on a 4x4 grid (64 px), a 1000-way head: small, but shaped like the official models.
  const bytes = writeSafetensors(proceduralWeights(proceduralConfig(32, 17, 2), 7));
  const labels = imagenetLabels();
  const native = await reference(PHOTOS.cat, { weights: bytes, labels });
  const at224 = await reference(PHOTOS.cat, { weights: bytes, labels, resolution: 224 });
  for (const e of [native, at224]) expect(e.margin, 'top-1 must be clear of top-2 for a stable check').toBeGreaterThan(1e-4);

  const { page, errors, close } = await newPage(browser);
  await page.goto('/demo/');
  await waitReady(page);

  const drop = await page.evaluateHandle((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], 'my-vim.safetensors'));
    return dt;
  }, [...bytes]);
  await page.getByTestId('checkpoint-drop').dispatchEvent('drop', { dataTransfer: drop });
  await expect(page.getByRole('radio', { name: /Your checkpoint/ })).toBeChecked();
  await waitReady(page);
  await expect(page.locator('#file-name')).toHaveText('my-vim.safetensors');
  // The page's precision (int8 by default) applies to the dropped file too: compare
  // against the float64 reference in f32 first.
  await expect(page.locator('#m-res')).toHaveText(/· int8$/);
  await page.locator('#dtype input[value="f32"]').check({ force: true });
  await waitReady(page);
  await expect(page.locator('#m-res')).toHaveText(/· f32$/);
  await classify(page, PHOTOS.cat, native);

  // Another input size: the page reloads the same checkpoint with the API's resolution option.
  await page.getByLabel('Resolution').selectOption('224');
  await waitReady(page);
  await expect(page.locator('#m-res')).toHaveText(/^224 px/);
  await classify(page, PHOTOS.cat, at224);
  await screenshot(page, info, 'demo-own-checkpoint-224.png');

  // int8 weights (converted in the worker on load): the shown photo is classified again.
  const results = Number(await page.locator('#bars').getAttribute('data-results'));
  await page.locator('#dtype input[value="int8"]').check({ force: true });
  await waitReady(page);
  await expect(page.locator('#m-res')).toHaveText('224 px · int8');
  await expect(page.locator('#bars')).toHaveAttribute('data-results', String(results + 1), { timeout: 120_000 });
  // Quantization moves probabilities a little; a clear winner stays the winner.
  if (at224.margin > 0.005) await expect(page.getByTestId('top1-label')).toHaveText(at224.label);
  expect(errors).toEqual([]);
  await close();
});
