// The HTML report of one benchmark run: the Vim/DeiT ratios first (the point of the
// benchmark: they compare runs made on the same adapter minutes apart), then two
// charts in the manner of the paper's Fig. 1 (images/s on a log axis, GPU memory, both
// against resolution), then every case. Self-contained: inline SVG and CSS only.
import type { CaseResult } from '../lib/cases.js';
import { MODELS, type ModelName } from '../lib/models.js';
import type { BenchDocument, Ratio } from '../lib/results.js';
import { plotSvg, type Series } from './plot.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const MiB = 2 ** 20;

// Vim green and DeiT red as in the paper's figure; -S dashed.
const STYLE: Record<ModelName, { color: string; dashed: boolean }> = {
  vim_ti: { color: '#2e8b57', dashed: false },
  vim_s: { color: '#2e8b57', dashed: true },
  deit_ti: { color: '#c0392b', dashed: false },
  deit_s: { color: '#c0392b', dashed: true },
};

function ratioCells(r: Ratio | undefined): string {
  if (!r) return '<td>–</td><td>–</td>';
  if (r.speed === undefined) return `<td colspan="2" class="muted">${esc(r.note ?? '')}</td>`;
  const saving = (1 - r.memory!) * 100;
  return `<td><b>${r.speed.toFixed(2)}×</b></td><td><b>${r.memory!.toFixed(2)}×</b> <span class="muted">(${saving >= 0 ? '−' : '+'}${Math.abs(saving).toFixed(0)} %)</span></td>`;
}

function ratioTable(doc: BenchDocument, batch: number): string {
  const rs = doc.ratios.filter((r) => r.batch === batch);
  const pairs = [...new Set(rs.map((r) => r.vim))];
  if (!pairs.length) return '';
  const sizes = [...new Set(rs.map((r) => r.size))].sort((a, b) => a - b);
  const head = pairs.map((v) => `<th colspan="2">${MODELS[v].label} ÷ ${MODELS[MODELS[v].pair].label}</th>`).join('');
  const sub = pairs.map(() => '<th>speed</th><th>memory</th>').join('');
  const rows = sizes.map((s) => {
    const tokens = rs.find((r) => r.size === s)!.tokens;
    return `<tr><td>${s}</td><td>${tokens}</td>${pairs.map((v) => ratioCells(rs.find((r) => r.vim === v && r.size === s))).join('')}</tr>`;
  });
  return `<p class="cap">Batch ${batch}: Vim ÷ DeiT (speed > 1: Vim faster; memory < 1: Vim uses less)</p><table class="ratios">
<tr><th rowspan="2">R</th><th rowspan="2">tokens</th>${head}</tr><tr>${sub}</tr>${rows.join('\n')}</table>`;
}

function charts(doc: BenchDocument, batch: number): string {
  const rs = doc.results.filter((r) => r.batch === batch);
  const sizes = [...new Set(rs.map((r) => r.size))].sort((a, b) => a - b);
  const models = (Object.keys(MODELS) as ModelName[]).filter((m) => rs.some((r) => r.model === m));
  const cell = (m: ModelName, s: number) => rs.find((r) => r.model === m && r.size === s);
  const series = (pick: (r: CaseResult) => number | undefined): Series[] => models.map((m) => ({
    label: MODELS[m].label, ...STYLE[m],
    values: sizes.map((s) => { const r = cell(m, s); return r?.status === 'ok' ? pick(r) : undefined; }),
    marks: sizes.map((s) => { const r = cell(m, s); return r && r.status !== 'ok' ? (r.status === 'failed' ? 'fail' : 'skip') : undefined; }),
  }));
  const xLabels = sizes.map(String);
  const fps = plotSvg({ title: `Throughput, batch ${batch}`, xLabels, xTitle: 'Resolution (px)', yTitle: 'images/s (log scale)', log: true, series: series((r) => r.imagesPerSecond) });
  const mem = plotSvg({ title: `GPU memory, batch ${batch}`, xLabels, xTitle: 'Resolution (px)', yTitle: 'peak live GPU buffers (MiB)', log: false, series: series((r) => r.peakBytes! / MiB) });
  return `<div class="charts">${fps}${mem}</div>`;
}

function caseTable(doc: BenchDocument): string {
  const rows = doc.results.map((r) => {
    const num = (v: number | undefined, d = 1) => (v === undefined ? '' : v.toFixed(d));
    return `<tr class="${r.status}"><td>${MODELS[r.model].label}</td><td>${r.size}</td><td>${r.tokens}</td><td>${r.batch}</td>
<td>${num(r.latencyMs)}</td><td>${num(r.imagesPerSecond, 3)}</td><td>${num(r.firstRunMs, 0)}</td><td>${num(r.loadMs, 0)}</td>
<td>${r.peakBytes === undefined ? '' : (r.peakBytes / MiB).toFixed(1)}</td><td>${r.loadedBytes === undefined ? '' : (r.loadedBytes / MiB).toFixed(1)}</td>
<td>${r.latenciesMs?.length ?? ''}</td><td>${esc([r.status === 'ok' ? '' : r.status, r.note ?? ''].filter(Boolean).join(': '))}</td></tr>`;
  });
  return `<p class="cap">Every case (latency: median wall clock of input upload, forward and logits read-back)</p><table class="cases">
<tr><th>model</th><th>R</th><th>tokens</th><th>batch</th><th>latency ms</th><th>images/s</th><th>first run ms</th><th>load ms</th><th>peak MiB</th><th>after load MiB</th><th>runs</th><th>note</th></tr>
${rows.join('\n')}</table>`;
}

function attentionLine(doc: BenchDocument): string {
  const probes = Object.entries(doc.ort.probes);
  const ran = probes.map(([m, p]) => `${MODELS[m as ModelName].label}: <b>${p!.attention}</b>`).join(', ');
  const gpuOps = probes.length ? Object.entries(probes[0][1]!.placements).filter(([ep]) => /WebGpu|Js/i.test(ep))
    .map(([ep, ops]) => `${ep}: ${Object.entries(ops).map(([op, n]) => `${op} ${n}`).join(', ')}`).join('; ') : '';
  return `DeiT attention as ONNX Runtime ran it (its optimised graph, from its node-placement log): ${ran || 'not probed'}.
${doc.graphs?.attentionKind ? `The exported graph: ${esc(doc.graphs.attentionKind)} softmax(QKᵀ/√d)·V (MatMul, Softmax, MatMul; ${esc(doc.graphs.exporter ?? '')} exporter, torch ${esc(doc.graphs.torch ?? '')}, opset ${doc.graphs.opset ?? ''}).` : ''}
${gpuOps ? `<br><span class="muted">Operators on the GPU after ORT's fusions: ${esc(gpuOps)}</span>` : ''}`;
}

export function renderReport(doc: BenchDocument): string {
  const a = doc.adapter;
  const adapter = [a.description, a.vendor, a.architecture].filter(Boolean).join(' · ') || 'unknown adapter';
  const batches = [...new Set(doc.results.map((r) => r.batch))].sort((x, y) => x - y);
  const warn = a.isFallbackAdapter
    ? '<p class="warn">Software adapter (CPU): absolute numbers say nothing about GPUs; only the ratios, measured minutes apart on the same adapter, carry meaning.</p>'
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vim vs DeiT: ${esc(adapter)}</title>
<style>
body { font-family: sans-serif; margin: 16px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 4px; } p { margin: 6px 0; font-size: 13px; }
.muted { color: #777; } .warn { color: #a15c00; }
#figure { padding: 8px; background: #fff; }
.charts { display: flex; gap: 8px; flex-wrap: wrap; }
table { border-collapse: collapse; margin: 10px 0; font-size: 13px; }
.cap { font-weight: bold; margin: 12px 0 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
td:last-child { text-align: left; } tr.skipped td, tr.failed td { color: #999; }
</style></head><body>
<div id="figure">
<h1>Vim (vim-webgpu) vs DeiT (ONNX Runtime Web ${esc(doc.ort.version ?? '')}, ${esc(doc.ort.build)} EP) in ${esc(doc.runtime)}</h1>
<p>Adapter: <b>${esc(adapter)}</b>${a.isFallbackAdapter ? ' (fallback)' : ''} · ${esc(doc.date.slice(0, 16).replace('T', ' '))} UTC
${doc.options.quick ? ' · quick run' : ''} · median of up to ${doc.options.runs} runs after ${doc.options.warmup} warm-up(s) · random weights</p>
${warn}
${batches.map((b) => ratioTable(doc, b)).join('\n')}
<p>${attentionLine(doc)}</p>
${charts(doc, 1)}
<p class="muted">Memory: peak bytes of live GPU buffers (weights, activations, ORT's pooled buffers), counted by wrapping
GPUDevice.createBuffer / GPUBuffer.destroy for both engines. Each case runs on a fresh page and device.</p>
</div>
${batches.filter((b) => b !== 1).map((b) => charts(doc, b)).join('\n')}
${caseTable(doc)}
<p class="muted">${esc(doc.userAgent ?? '')} · wall ${doc.wallSeconds.toFixed(0)} s · options ${esc(JSON.stringify(doc.options))}</p>
</body></html>
`;
}
