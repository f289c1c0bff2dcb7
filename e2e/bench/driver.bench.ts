// Drives the benchmark page in Chromium: one fresh page per case, cases interleaved
// and skipped by lib/schedule.ts, then the results JSON, the HTML report and its PNG in
// bench/results/. Run through e2e/bench/run.sh (npm run bench:browser), which turns its
// flags into the BENCH_* variables read here. BENCH_REPORT=FILE.json only renders the
// report (HTML + PNG) of an existing results file, e.g. one from the Node runner.
import { test, type Browser, type Page } from '@playwright/test';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult, CaseSpec } from './lib/cases.js';
import { MODELS, onnxPath } from './lib/models.js';
import { computeRatios, resultStem, type BenchDocument } from './lib/results.js';
import { caseOrder, optionsFromEnv, Scheduler, skippedResult } from './lib/schedule.js';
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
  const scheduler = new Scheduler(o, info.limits.maxStorageBufferBindingSize);

  // Which attention ORT runs: its optimised graph at the smallest size, per DeiT model.
  const probes: BenchDocument['ort']['probes'] = {};
  const smallest = Math.min(...o.sizes);
  for (const m of o.models.filter((x) => MODELS[x].arch === 'deit')) {
    if (!existsSync(join(root, onnxPath(m, smallest)))) continue;
    try {
      probes[m] = { ...(await inPage(browser, 900_000, 'probe', m, smallest, o.ort)), size: smallest };
      console.log(`${m}: ORT ran attention ${probes[m]!.attention}`);
    } catch (e) {
      console.log(`${m}: graph probe failed: ${(e as Error).message}`);
    }
  }

  for (const c of caseOrder(o)) {
    const d = scheduler.decide(c);
    let r: CaseResult;
    if ('skip' in d) {
      r = skippedResult(c, 'skipped', d.skip);
    } else if (MODELS[c.model].arch === 'deit' && !existsSync(join(root, onnxPath(c.model, c.size)))) {
      r = skippedResult(c, 'failed', `no ${onnxPath(c.model, c.size)} (python3 bench/deit/export_deit.py)`);
    } else {
      const spec: CaseSpec = d.spec;
      try {
        r = await inPage(browser, 3 * spec.budgetMs + 900_000, 'runCase', spec);
      } catch (e) {
        r = skippedResult(c, 'failed', (e as Error).message.split('\n')[0].slice(0, 200));
      }
    }
    scheduler.record(r);
    const t = r.status === 'ok'
      ? `${r.latencyMs!.toFixed(1)} ms  ${r.imagesPerSecond!.toFixed(3)} img/s  first ${r.firstRunMs!.toFixed(0)} ms  peak ${(r.peakBytes! / 2 ** 20).toFixed(1)} MiB`
      : `${r.status}: ${r.note}`;
    console.log(`${MODELS[c.model].label.padEnd(8)} ${String(c.size).padStart(4)} px  b${c.batch}  ${t}`);
  }

  const manifestPath = join(root, 'bench/deit/onnx/manifest.json');
  const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Record<string, Record<string, unknown>> } : undefined;
  const g = manifest && Object.values(manifest.files)[0];
  const doc: BenchDocument = {
    kind: 'vim-webgpu browser benchmark', runtime: `chromium ${/Chrome\/([\d.]+)/.exec(info.userAgent)?.[1] ?? ''}`.trim(),
    date: new Date().toISOString(), userAgent: info.userAgent, adapter: info.adapter, limits: info.limits,
    ort: { version: info.ortVersion, build: o.ort, probes },
    graphs: g && { attentionKind: String(g.attention_kind), exporter: String(g.exporter), torch: String(g.torch), opset: Number(g.opset) },
    options: o, results: [...scheduler.results], ratios: computeRatios(scheduler.results), wallSeconds: (Date.now() - started) / 1000,
  };
  const stem = resultStem('browser', doc);
  mkdirSync(dirname(join(root, stem)), { recursive: true });
  writeFileSync(join(root, `${stem}.json`), JSON.stringify(doc, null, 1) + '\n');
  console.log(`results: ${stem}.json`);
  for (const r of doc.ratios) {
    console.log(`${MODELS[r.vim].label}/${MODELS[r.deit].label} ${r.size} px b${r.batch}: ${r.speed === undefined ? r.note : `speed ${r.speed.toFixed(2)}x, memory ${r.memory!.toFixed(2)}x`}`);
  }
  await writeReport(browser, doc, stem);
});
