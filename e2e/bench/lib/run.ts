// The benchmark's run, whichever way the cases execute (a fresh Chromium page each in
// driver.bench.ts, a child process each in node/run.ts): which attention ORT runs, the
// scheduled case loop, and the pieces of the results document both write.
import { existsSync, readFileSync } from 'node:fs';
import type { CaseResult, CaseSpec } from './cases.js';
import type { GraphProbe } from './deit-case.js';
import { MODELS, type ModelName } from './models.js';
import type { BenchDocument, Ratio } from './results.js';
import { caseOrder, Scheduler, skippedResult, type BenchOptions } from './schedule.js';

export interface CaseExecutor {
  /** Where the DeiT graph of (model, size) is read from, for messages. */
  graphPath(model: ModelName, size: number): string;
  hasGraph(model: ModelName, size: number): boolean;
  probe(model: ModelName, size: number): Promise<GraphProbe>;
  /** Loading is outside the case budget (ORT's session creation alone can take minutes on a software adapter). */
  runCase(spec: CaseSpec): Promise<CaseResult>;
}

export interface ScheduleOutcome {
  probes: BenchDocument['ort']['probes'];
  results: CaseResult[];
}

export async function runSchedule(o: BenchOptions, maxStorageBinding: number, x: CaseExecutor): Promise<ScheduleOutcome> {
  const scheduler = new Scheduler(o, maxStorageBinding);
  // Which attention ORT runs: its optimised graph at the smallest size, per DeiT model.
  const probes: ScheduleOutcome['probes'] = {};
  const smallest = Math.min(...o.sizes);
  for (const m of o.models.filter((name) => MODELS[name].arch === 'deit')) {
    if (!x.hasGraph(m, smallest)) continue;
    try {
      probes[m] = { ...(await x.probe(m, smallest)), size: smallest };
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
    } else if (MODELS[c.model].arch === 'deit' && !x.hasGraph(c.model, c.size)) {
      r = skippedResult(c, 'failed', `no ${x.graphPath(c.model, c.size)} (python3 bench/deit/export_deit.py)`);
    } else {
      try {
        r = await x.runCase(d.spec);
      } catch (e) {
        r = skippedResult(c, 'failed', (e as Error).message.split('\n')[0].slice(0, 240));
      }
    }
    scheduler.record(r);
    console.log(`${MODELS[c.model].label.padEnd(8)} ${String(c.size).padStart(4)} px  b${c.batch}  ${r.status === 'ok'
      ? `${r.latencyMs!.toFixed(2)} ms  ${r.imagesPerSecond!.toFixed(3)} img/s  first ${r.firstRunMs!.toFixed(0)} ms  peak ${(r.peakBytes! / 2 ** 20).toFixed(1)} MiB`
      : `${r.status}: ${r.note}`}`);
  }
  return { probes, results: [...scheduler.results] };
}

/** What export_deit.py's manifest says about the graphs, if it is there. */
export function graphsFromManifest(path: string): BenchDocument['graphs'] {
  if (!existsSync(path)) return undefined;
  const g = Object.values((JSON.parse(readFileSync(path, 'utf8')) as { files: Record<string, Record<string, unknown>> }).files)[0];
  return g && { attentionKind: String(g.attention_kind), exporter: String(g.exporter), torch: String(g.torch), opset: Number(g.opset) };
}

export function logRatios(ratios: readonly Ratio[]): void {
  for (const r of ratios) {
    console.log(`${MODELS[r.vim].label}/${MODELS[r.deit].label} ${r.size} px b${r.batch}: ${r.speed === undefined ? r.note : `speed ${r.speed.toFixed(2)}x, memory ${r.memory!.toFixed(2)}x`}`);
  }
}
