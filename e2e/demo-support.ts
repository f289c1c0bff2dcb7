// Shared by the demo specs: the expected answer from the float64 reference in
// Node (nothing hard-coded), and page helpers that drive the demo like a visitor.
import { readFile } from 'node:fs/promises';
import { expect, type Browser, type Page, type TestInfo } from '@playwright/test';
import { applyOrientation, decodeImage, evalTransform } from '../src/image/index.js';
import { bufferSource, loadVimWeights } from '../src/weights/index.js';
import { isVimFile, readVimFileHeader, readVimFileStateDict } from '../src/weights/format-read.js';
import { deriveConfig } from '../src/model/config.js';
import { referenceForward } from '../src/reference/vim.js';
import { softmax, topK } from '../src/model/top-k.js';
import { defaultLabels } from '../src/model/labels.js';
import { atResolution } from '../src/engine/resolution.js';
import { DEFAULT_INTERPOLATION } from '../src/api/defaults.js';

// Must match DEFAULT_MODEL in demo/src/models.ts (its int8 file, labels from its metadata).
export const WEIGHTS = 'weights/vim-ti-imagenette.int8.safetensors';
export const PHOTOS = { cat: 'test/photos/chelsea.png', coffee: 'test/photos/coffee.png' };

export interface Expected { label: string; score: number; margin: number }

export interface ReferenceOptions {
  /** Checkpoint bytes (default: the bundled model's file). */
  weights?: Uint8Array;
  /** Input side (default: the checkpoint's own); other sizes resize the position table like the API. */
  resolution?: number;
  /** Class names (default: those in the file's metadata, else "class N"). */
  labels?: readonly string[];
}

/** Top-1 of the float64 reference forward, decoded, preprocessed and resized the way the engine does it. */
export async function reference(photo: string, o: ReferenceOptions = {}): Promise<Expected> {
  const bytes = o.weights ?? new Uint8Array(await readFile(WEIGHTS));
  // int8/f16 files expand to float32 host tensors: the reference runs the very values the GPU dequantizes.
  const src = bufferSource('weights', bytes);
  const header = await isVimFile(src) ? await readVimFileHeader(src) : undefined;
  const tensors = header ? await readVimFileStateDict(src, header) : (await loadVimWeights(src)).tensors;
  const config = deriveConfig(tensors, 'weights');
  const metadata = header?.metadata ?? {};
  const m = atResolution(config, tensors, o.resolution, DEFAULT_INTERPOLATION);
  const decoded = decodeImage(new Uint8Array(await readFile(photo)), photo);
  const input = evalTransform(applyOrientation(decoded, decoded.orientation), m.size);
  const { logits } = referenceForward(tensors, m.config, input, 1, m.size, m.size, { posEmbed: m.posEmbed, stride: m.stride });
  const [first, second] = topK(softmax(logits), 2);
  const label = o.labels?.[first.index] ?? defaultLabels(config.numClasses, metadata)?.[first.index] ?? `class ${first.index}`;
  return { label, score: first.value, margin: first.value - second.value };
}

/** Uncaught page errors are collected (tests expect none); console output goes to the test log. */
export function watch(page: Page): Error[] {
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => {
    if (m.type() !== 'debug') console.log(`[browser ${m.type()}] ${m.text().slice(0, 300)}`);
  });
  return errors;
}

export async function waitReady(page: Page): Promise<void> {
  await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 240_000 });
}

/** Chooses a photo through the file input and checks the new top-1 against the reference. */
export async function classify(page: Page, photo: string, want: Expected): Promise<void> {
  // The result list counts results: wait for a new one, not an old one with the same label.
  const before = Number(await page.locator('#bars').getAttribute('data-results') ?? 0);
  await page.getByTestId('file-input').setInputFiles(photo);
  await expect(page.locator('#bars')).toHaveAttribute('data-results', String(before + 1), { timeout: 120_000 });
  await expect(page.getByTestId('top1-label')).toHaveText(want.label);
  // The page prints one decimal of a percentage; GPU float32 vs float64 differ far less.
  const shown = Number((await page.getByTestId('top1-score').textContent())!.replace('%', ''));
  expect(Math.abs(shown - 100 * want.score)).toBeLessThanOrEqual(0.051);
}

export async function screenshot(page: Page, info: TestInfo, name: string): Promise<void> {
  const path = info.outputPath(name);
  await page.screenshot({ path, fullPage: true });
  await info.attach(name, { path, contentType: 'image/png' });
}

export async function newPage(browser: Browser, init?: () => void): Promise<{ page: Page; errors: Error[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  return { page, errors: watch(page), close: () => context.close() };
}
