// Runs a range of cases of one reader and summarises them. Used in-process by
// the CI test and, through batch-main.ts, in a child process per batch by
// `npm run fuzz`, so that a crash or a hang costs one case, not the run.
import { writeFileSync, mkdirSync } from 'node:fs';
import { runCase, type Outcome } from './harness.js';
import { Rng } from './rng.js';
import { TARGETS } from './targets/index.js';

export interface BugRecord { index: number; kind: string; outcome: string; detail?: string }

export interface BatchSummary {
  reader: string;
  seed: number;
  start: number;
  count: number;
  /** Outcome → cases. */
  outcomes: Record<string, number>;
  /** Generator kind → outcome → cases. */
  kinds: Record<string, Record<string, number>>;
  bugs: BugRecord[];
  /** Largest CPU time of a case. */
  maxMs: number;
  maxWallMs: number;
  /** The slowest case, to reproduce with --case. */
  slowest?: { index: number; kind: string; ms: number };
  totalMs: number;
  /** Largest single allocation seen, and the largest ratio of it to the input's size. */
  largestAllocation: number;
  largestAllocationRatio: number;
}

export function emptySummary(reader: string, seed: number, start: number): BatchSummary {
  return { reader, seed, start, count: 0, outcomes: {}, kinds: {}, bugs: [], maxMs: 0, maxWallMs: 0, totalMs: 0, largestAllocation: 0, largestAllocationRatio: 0 };
}

/** Adds one case to a summary. */
export function record(s: BatchSummary, index: number, kind: string, o: Outcome, inputLength: number): void {
  s.count++;
  s.outcomes[o.outcome] = (s.outcomes[o.outcome] ?? 0) + 1;
  const k = (s.kinds[kind] ??= {});
  k[o.outcome] = (k[o.outcome] ?? 0) + 1;
  if (o.outcome.startsWith('bug:')) s.bugs.push({ index, kind, outcome: o.outcome, detail: o.detail });
  if (o.ms > s.maxMs) s.slowest = { index, kind, ms: Math.round(o.ms) };
  s.maxMs = Math.max(s.maxMs, o.ms);
  s.maxWallMs = Math.max(s.maxWallMs, o.wallMs);
  s.totalMs += o.ms;
  s.largestAllocation = Math.max(s.largestAllocation, o.largestAllocation);
  s.largestAllocationRatio = Math.max(s.largestAllocationRatio, o.largestAllocation / Math.max(1, inputLength));
}

export interface CaseResult extends Outcome { index: number; kind: string; length: number }

export interface BatchOptions {
  reader: string;
  seed: number;
  start: number;
  count: number;
  /** Called before each case (the parent's watchdog listens to this). */
  onCase?: (index: number) => void | Promise<void>;
  /** Called after each case. */
  onResult?: (r: CaseResult) => void | Promise<void>;
  /** Folder to store the input of every bug case in. */
  bugDir?: string;
}

export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  const target = TARGETS[o.reader];
  if (!target) throw new Error(`unknown reader '${o.reader}' (known: ${Object.keys(TARGETS).join(', ')})`);
  await target.prepare();
  const summary = emptySummary(o.reader, o.seed, o.start);
  for (let i = o.start; i < o.start + o.count; i++) {
    await o.onCase?.(i);
    const c = target.generate(new Rng(o.seed, o.reader, i));
    const outcome = await runCase(target, c);
    record(summary, i, c.kind, outcome, c.bytes.length);
    await o.onResult?.({ index: i, kind: c.kind, length: c.bytes.length, ...outcome });
    if (outcome.outcome.startsWith('bug:') && o.bugDir) {
      mkdirSync(o.bugDir, { recursive: true });
      writeFileSync(`${o.bugDir}/${o.reader}-s${o.seed}-i${i}.bin`, c.bytes);
    }
  }
  return summary;
}
