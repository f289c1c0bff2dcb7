// Drives the benchmark page in Chromium: one fresh page per case, cases interleaved
// and skipped by lib/schedule.ts, then the results JSON, the HTML report and its PNG in
// bench/results/. Run through e2e/bench/run.sh (npm run bench:browser), which turns its
// flags into the BENCH_* variables read here. BENCH_REPORT=FILE.json only renders the
// report (HTML + PNG) of an existing results file, e.g. one from the Node runner.
import { test, type Browser, type Page } from '@playwright/test';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnxPath } from './lib/models.js';
import { computeRatios, resultStem, type BenchDocument } from './lib/results.js';
import { graphsFromManifest, logRatios, runSchedule } from './lib/run.js';
import { optionsFromEnv } from './lib/schedule.js';
import type { BenchPage } from './main.js';
import { renderReport } from './report/render.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function benchPage(browser: Browser, log: boolean): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    // ORT warns once per session that shape ops run on the CPU: by design, not news.
    if (log && (m.type() === 'error' || m.type() === 'warning') && !/VerifyEachNodeIsAssignedToAnEp/.test(m.text())) {
      console.log(`  [page ${m.type()}] ${m.text().slice(0, 300)}`);
    }
  });
  await page.goto('/e2e/bench/');
  await page.waitForFunction(() => (window as { bench?: unknown }).bench !== undefined);
  return page;
}

/** Calls window.bench[name] in a fresh page, with a hard time limit. */
async function inPage<K extends keyof BenchPage>(browser: Browser, limitMs: number, name: K, ...args: Parameters<BenchPage[K]>): Promise<Awaited<ReturnType<BenchPage[K]>>> {
  const page = await benchPage(browser, true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const call = page.evaluate(([n, a]) => ((window as unknown as { bench: Record<string, (...x: unknown[]) => unknown> }).bench[n])(...a), [name, args] as const);
    const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${(limitMs / 1000).toFixed(0)} s`)), limitMs); });
    return (await Promise.race([call, limit])) as Awaited<ReturnType<BenchPage[K]>>;
  } finally {
    clearTimeout(timer);
    await page.close();
  }
}

/** Writes STEM.html and STEM.png (stem: a path without extension, absolute or from the repo root). */
async function writeReport(browser: Browser, doc: BenchDocument, stem: string): Promise<void> {
  stem = resolve(root, stem);
  const html = renderReport(doc);
  writeFileSync(`${stem}.html`, html);
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.setContent(html);
  // The figure (ratios, attention note, charts) is what the README shows.
  await page.locator('#figure').screenshot({ path: `${stem}.png` });
  await page.close();
  console.log(`report: ${relative(root, stem)}.html, .png`);
}

test('browser benchmark: Vim (vim-webgpu) vs DeiT (onnxruntime-web)', async ({ browser }) => {
  const reportOnly = process.env.BENCH_REPORT;
  if (reportOnly) {
    const doc = JSON.parse(readFileSync(reportOnly, 'utf8')) as BenchDocument;
    await writeReport(browser, doc, reportOnly.replace(/\.json$/, ''));
    return;
  }
  const o = optionsFromEnv(process.env);
  test.setTimeout((o.totalBudgetS + 900) * 1000);
  const started = Date.now();
  const info = await inPage(browser, 120_000, 'info', o.ort);
  console.log(`adapter: ${JSON.stringify(info.adapter)}; ORT ${info.ortVersion} (${o.ort})`);
  const { probes, results } = await runSchedule(o, info.limits.maxStorageBufferBindingSize, {
    graphPath: onnxPath,
    hasGraph: (m, size) => existsSync(join(root, onnxPath(m, size))),
    probe: (m, size) => inPage(browser, 900_000, 'probe', m, size, o.ort),
    runCase: (spec) => inPage(browser, 3 * spec.budgetMs + 900_000, 'runCase', spec),
  });
  const doc: BenchDocument = {
    kind: 'vim-webgpu browser benchmark', runtime: `chromium ${/Chrome\/([\d.]+)/.exec(info.userAgent)?.[1] ?? ''}`.trim(),
    date: new Date().toISOString(), userAgent: info.userAgent, adapter: info.adapter, limits: info.limits,
    ort: { version: info.ortVersion, build: o.ort, probes }, graphs: graphsFromManifest(join(root, 'bench/deit/onnx/manifest.json')),
    options: o, results, ratios: computeRatios(results), wallSeconds: (Date.now() - started) / 1000,
  };
  const stem = resultStem('browser', doc);
  mkdirSync(dirname(join(root, stem)), { recursive: true });
  writeFileSync(join(root, `${stem}.json`), JSON.stringify(doc, null, 1) + '\n');
  console.log(`results: ${stem}.json`);
  logRatios(doc.ratios);
  await writeReport(browser, doc, stem);
});
