// Report of a GPU-machine run of bench/gpu-run.sh: merges what it wrote (the WebGPU
// bench JSON files, pytorch-bench.json, adapter.json, optional submit-latency.json)
// into one results file, prints the side-by-side table (markdown, for BENCHMARKS.md)
// and renders the figure (PNG) in Chromium. Not a test: run it on request,
//   H200_RAW="dir-or-file ..." H200_OUT=bench/results/h200-DATE \
//     npx playwright test -c e2e/bench/playwright.bench.config.ts h200-report
import { test } from '@playwright/test';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { plotSvg, type Series } from './report/plot.js';

interface WebGpuCase { model: string; size: number; stride: number; batch: number; tokens: number; wallMs: number; gpuMs: number | null; bytesInUse: number;
  residentWallMs?: number; encodeMs?: number; uploadMs?: number; kernels: Array<{ kernel: string; ms: number; share: number }> }
interface TorchCase { model: string; size: number; stride: number; batch: number; tokens?: number; status: string; latency_ms?: number; eager_ms?: number; graph_ms?: number | null; peak_bytes?: number; scan_impl?: string; note?: string; reason?: string }

const MiB = 2 ** 20;
const files = (process.env.H200_RAW ?? '').split(/\s+/).filter(Boolean)
  .flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).map((f) => join(p, f)) : [p])).filter((p) => p.endsWith('.json'));

function collect() {
  const webgpu = new Map<string, WebGpuCase>();   // later files win (re-measured cases)
  const skipped: unknown[] = [];
  let torch: { results: TorchCase[]; [k: string]: unknown } | undefined, adapter: unknown, latency: unknown;
  for (const f of files) {
    const doc = JSON.parse(readFileSync(f, 'utf8'));
    if (Array.isArray(doc.results) && doc.results[0]?.gpuMs !== undefined) {
      for (const r of doc.results as WebGpuCase[]) webgpu.set(`${r.model}/${r.size}/${r.stride}/${r.batch}`, r);
      skipped.push(...(doc.skipped ?? []));
    } else if (doc.tool === 'pytorch_bench') torch = doc;
    else if (basename(f) === 'adapter.json') adapter = doc;
    else if (basename(f).startsWith('submit-latency')) latency = doc;
  }
  return { webgpu: [...webgpu.values()], skipped, torch, adapter, latency };
}

const fmt = (v: number | undefined | null, d = 2) => (v === undefined || v === null ? '–' : v.toFixed(d));

test('H200 report', async ({ browser }) => {
  test.skip(!files.length || !process.env.H200_OUT, 'set H200_RAW and H200_OUT');
  const { webgpu, skipped, torch, adapter, latency } = collect();
  const out = process.env.H200_OUT!;
  const tcase = (m: string, s: number, st: number, b: number) => torch?.results.find((r) => r.model === m && r.size === s && r.stride === st && r.batch === b);
  const wcase = (m: string, s: number, st: number, b: number) => webgpu.find((r) => r.model === m && r.size === s && r.stride === st && r.batch === b);
  const torchMs = (r?: TorchCase) => (r?.status === 'ok' ? r.latency_ms : undefined);

  // The table: one row per (model, size, stride, batch) the WebGPU bench measured.
  const rows = [...webgpu].sort((a, b) => a.model.localeCompare(b.model) || a.stride - b.stride || a.size - b.size || a.batch - b.batch).map((w) => {
    const pt = tcase(w.model, w.size, w.stride, w.batch), deit = tcase(w.model.replace('vim', 'deit'), w.size, 16, w.batch);
    const gpu = w.gpuMs ?? w.wallMs;
    return `| ${w.model} | ${w.size}${w.stride === 8 ? ' s8' : ''} | ${w.tokens} | ${w.batch} | ${fmt(w.wallMs)} | ${fmt(w.gpuMs)} | ${Math.round(w.batch / gpu * 1000)} | ${(w.bytesInUse / MiB).toFixed(0)} | ` +
      `${fmt(torchMs(pt))} | ${pt?.peak_bytes ? (pt.peak_bytes / MiB).toFixed(0) : '–'} | ${fmt(torchMs(deit))} | ${deit?.peak_bytes ? (deit.peak_bytes / MiB).toFixed(0) : '–'} | ` +
      `${torchMs(pt) ? (torchMs(pt)! / w.wallMs).toFixed(2) + '×' : '–'} | ${torchMs(deit) ? (torchMs(deit)! / w.wallMs).toFixed(2) + '×' : '–'} |`;
  });
  const table = ['| model | R | tokens | batch | WebGPU wall ms | WebGPU GPU ms | img/s (GPU) | WebGPU MiB | PyTorch Vim ms | MiB | DeiT (timm, SDPA) ms | MiB | speed vs PyTorch Vim (wall) | vs DeiT (wall) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
  console.log(table);

  // Figure: Vim-Ti and DeiT-Ti, batch 1 and 64, images/s and memory against resolution.
  const sizes = [224, 512, 1024, 1248];
  const charts: string[] = [];
  for (const b of [1, 64]) {
    const series = (pick: 'ips' | 'mem'): Series[] => [
      { label: 'WebGPU, GPU time', color: '#2e8b57', values: sizes.map((s) => { const w = wcase('vim_ti', s, 16, b); return !w ? undefined : pick === 'ips' ? b / (w.gpuMs ?? w.wallMs) * 1000 : w.bytesInUse / MiB; }) },
      ...(pick === 'ips' ? [{ label: 'WebGPU, wall', color: '#2e8b57', dashed: true, values: sizes.map((s) => { const w = wcase('vim_ti', s, 16, b); return w ? b / w.wallMs * 1000 : undefined; }) }] : []),
      { label: 'PyTorch Vim', color: '#1f77b4', values: sizes.map((s) => { const r = tcase('vim_ti', s, 16, b); return r?.status !== 'ok' ? undefined : pick === 'ips' ? b / r.latency_ms! * 1000 : r.peak_bytes! / MiB; }) },
      { label: 'DeiT-Ti', color: '#c0392b', values: sizes.map((s) => { const r = tcase('deit_ti', s, 16, b); return r?.status !== 'ok' ? undefined : pick === 'ips' ? b / r.latency_ms! * 1000 : r.peak_bytes! / MiB; }) },
    ];
    charts.push(plotSvg({ title: `Throughput, batch ${b}`, xLabels: sizes.map(String), xTitle: 'Resolution (px)', yTitle: 'images/s (log scale)', log: true, series: series('ips') }));
    charts.push(plotSvg({ title: `GPU memory, batch ${b}`, xLabels: sizes.map(String), xTitle: 'Resolution (px)', yTitle: 'MiB (WebGPU: live buffers; PyTorch: peak)', log: false, series: series('mem') }));
  }
  const gpuName = (adapter as { info?: { description?: string } } | undefined)?.info?.description ?? torch?.gpu ?? 'GPU';
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>body{font-family:sans-serif;margin:12px} #figure{background:#fff;padding:8px;width:1080px}
.charts{display:flex;flex-wrap:wrap;gap:8px} h1{font-size:18px;margin:0 0 4px} p{font-size:13px;margin:4px 0}</style></head><body><div id="figure">
<h1>Vim-Ti in vim-webgpu (WebGPU, Dawn for Node) vs PyTorch on ${String(torch?.gpu ?? gpuName)}</h1>
<p>fp32, same procedural weights; WebGPU: median of the bench's runs (GPU time from timestamp queries; wall = input upload + encode + GPU);
PyTorch ${String(torch?.torch ?? '')}: our Vim (scan: ${torch?.results.find((r) => r.scan_impl)?.scan_impl ?? '?'}, mamba_ssm ${torch?.mamba_ssm ? 'yes' : 'absent'}), CUDA graph where captured, else eager; DeiT-Ti from timm with SDPA.</p>
<div class="charts">${charts.join('')}</div></div></body></html>`;
  writeFileSync(`${out}.html`, html);
  const page = await browser.newPage({ viewport: { width: 1120, height: 900 } });
  await page.setContent(html);
  await page.locator('#figure').screenshot({ path: `${out}.png` });
  await page.close();
  writeFileSync(`${out}.json`, JSON.stringify({ adapter, webgpu, webgpuSkipped: skipped, pytorch: torch, submitLatency: latency, table }, null, 1) + '\n');
  writeFileSync(`${out}.md`, table + '\n');
  console.log(`wrote ${out}.json, .md, .html, .png`);
  if (!existsSync(`${out}.png`)) throw new Error('no PNG written');
});
