// The prediction panel: five bar rows that always exist (placeholders before the
// first result, so the card never changes height) and the metrics below them.
import type { ClassifierInfo, TimedResult } from '../engine.js';
import { formatAdapter, formatBytes, formatMs, formatPercent } from './format.js';

const ROWS = 5;

interface Row { li: HTMLLIElement; label: HTMLSpanElement; score: HTMLSpanElement; fill: HTMLDivElement }

export class ResultsView {
  private readonly rows: Row[] = [];
  private shown = 0;

  constructor(private readonly list: HTMLOListElement, private readonly m: Record<'gpu' | 'wall' | 'res' | 'mem' | 'adapter' | 'features', HTMLElement>) {
    for (let i = 0; i < ROWS; i++) {
      const li = document.createElement('li');
      li.className = 'bar-row empty';
      const label = document.createElement('span');
      label.className = 'bar-label';
      const score = document.createElement('span');
      score.className = 'bar-score';
      const track = document.createElement('div');
      track.className = 'bar-track';
      const fill = document.createElement('div');
      fill.className = 'bar-fill';
      track.append(fill);
      if (i === 0) {
        label.dataset.testid = 'top1-label';
        score.dataset.testid = 'top1-score';
      }
      li.append(label, score, track);
      list.append(li);
      this.rows.push({ li, label, score, fill });
    }
    this.clear();
  }

  /** Placeholder rows: no result yet (or the image changed and a new one is coming). */
  clear(): void {
    this.rows.forEach((r, i) => {
      r.li.classList.add('empty');
      r.label.textContent = i === 0 ? 'No image yet' : '\u00a0';
      r.score.textContent = '\u00a0';
      r.fill.style.width = '0';
    });
    this.m.gpu.textContent = this.m.wall.textContent = '—';
  }

  show(result: TimedResult): void {
    // A result counter on the list: tests (and anyone watching) can tell a new
    // result from an unchanged one that happens to have the same top class.
    this.list.dataset.results = String(++this.shown);
    this.rows.forEach((r, i) => {
      const p = result.predictions[i];
      r.li.classList.toggle('empty', !p);
      r.label.textContent = p ? p.label : '\u00a0';
      r.label.title = p ? `${p.label} (class ${p.index})` : '';
      r.score.textContent = p ? formatPercent(p.score) : '\u00a0';
      r.fill.style.width = p ? `${(p.score * 100).toFixed(2)}%` : '0';
    });
    this.m.gpu.textContent = result.gpuMs !== undefined ? formatMs(result.gpuMs) : 'n/a';
    this.m.gpu.title = result.gpuMs !== undefined ? 'GPU execution time (timestamp queries)' : 'no GPU time: the adapter lacks timestamp-query';
    this.m.wall.textContent = formatMs(result.wallMs);
  }

  /** Model facts: input size, memory, adapter and its features. */
  showInfo(info: ClassifierInfo | undefined, features: readonly string[] = []): void {
    if (!info) {
      for (const k of ['res', 'mem', 'adapter', 'features'] as const) this.m[k].textContent = '—';
      return;
    }
    const name = info.adapter ? formatAdapter(info.adapter) : 'CPU (float64 reference, no WebGPU)';
    this.m.res.textContent = `${info.resolution} px · ${info.dtype}`;
    this.m.mem.textContent = info.memoryBytes ? formatBytes(info.memoryBytes) : '—';
    this.m.adapter.textContent = name;
    this.m.adapter.title = name;
    // One unbreakable span per feature: lines wrap between features, never inside one.
    const items = info.backend === 'webgpu' ? features : [];
    this.m.features.replaceChildren(...(items.length ? items : ['—']).flatMap((f, i) => {
      const span = document.createElement('span');
      span.className = 'nowrap';
      span.textContent = f;
      return i ? [' · ', span] : [span];
    }));
    this.m.features.title = items.join(' · ');
  }
}
