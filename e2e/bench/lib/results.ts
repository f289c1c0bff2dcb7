// The results document both runners write (bench/results/browser-*.json) and the
// report reads, with the Vim/DeiT ratios computed from the cases of one run.
import type { CaseResult, OrtBuild } from './cases.js';
import type { GraphProbe } from './deit-case.js';
import { MODELS, type ModelName } from './models.js';
import type { BenchOptions } from './schedule.js';

export interface BenchDocument {
  kind: 'vim-webgpu browser benchmark';
  /** 'chromium' (the Playwright page) or 'node-dawn' (the Node runner). */
  runtime: string;
  date: string;
  userAgent?: string;
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  limits: Record<string, number>;
  ort: { version?: string; build: OrtBuild; probes: Partial<Record<ModelName, GraphProbe & { size: number }>> };
  /** What export_deit.py says about the graphs (attention form, exporter, torch version). */
  graphs?: { attentionKind?: string; exporter?: string; torch?: string; opset?: number };
  options: BenchOptions;
  results: CaseResult[];
  ratios: Ratio[];
  wallSeconds: number;
}

/** Vim against its DeiT pair at one resolution and batch, from the same run. */
export interface Ratio {
  vim: ModelName;
  deit: ModelName;
  size: number;
  batch: number;
  tokens: number;
  /** Vim images/s ÷ DeiT images/s (> 1: Vim faster). */
  speed?: number;
  /** Vim peak bytes ÷ DeiT peak bytes (< 1: Vim uses less). */
  memory?: number;
  note?: string;
}

export function computeRatios(results: readonly CaseResult[]): Ratio[] {
  const out: Ratio[] = [];
  const find = (m: ModelName, size: number, batch: number) => results.find((r) => r.model === m && r.size === size && r.batch === batch);
  for (const v of results) {
    if (MODELS[v.model].arch !== 'vim') continue;
    const pair = MODELS[v.model].pair;
    const d = find(pair, v.size, v.batch);
    if (!d) continue;
    const r: Ratio = { vim: v.model, deit: pair, size: v.size, batch: v.batch, tokens: v.tokens };
    if (v.status === 'ok' && d.status === 'ok') {
      r.speed = v.imagesPerSecond! / d.imagesPerSecond!;
      r.memory = v.peakBytes! / d.peakBytes!;
    } else {
      r.note = [v.status !== 'ok' ? `${MODELS[v.model].label} ${v.status}` : '', d.status !== 'ok' ? `${MODELS[pair].label} ${d.status}` : '']
        .filter(Boolean).join(', ');
    }
    out.push(r);
  }
  return out;
}

/** A file-name-safe adapter name: 'google-swiftshader', 'nvidia-hopper'. */
export function adapterSlug(a: BenchDocument['adapter']): string {
  const s = [a.vendor, a.architecture].filter(Boolean).join('-') || a.description || 'unknown';
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'unknown';
}

/** bench/results/<prefix>-<adapter>-<YYYY-MM-DD> (without extension). */
export function resultStem(prefix: string, doc: Pick<BenchDocument, 'adapter' | 'date'>): string {
  return `bench/results/${prefix}-${adapterSlug(doc.adapter)}-${doc.date.slice(0, 10)}`;
}
