// `npm run fuzz [-- --seed N --count N --reader pth,safetensors --batch N --jobs N]`
// Runs --count generated hostile inputs per reader, in child processes of
// --batch cases each; a child that crashes or hangs is recorded as a bug for the
// case it was running and the batch resumes after it. Prints a table of
// outcomes and writes tools/fuzz/results/fuzz-s<seed>.json. Exits 1 on any bug.
//
// Reproduce one case in-process: --reader pth --seed 1 --case 1234. --out FILE writes the results elsewhere.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { emptySummary, record, type BatchSummary, type CaseResult } from './batch.js';
import { repoPath } from './paths.js';
import { TARGETS } from './targets/index.js';

const HANG_MS = 30_000;

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const seed = Number(arg('seed', '1'));
const count = Number(arg('count', '10000'));
const batchSize = Number(arg('batch', '1000'));
const jobs = Math.max(1, Number(arg('jobs', '1')));
const readers = arg('reader', Object.keys(TARGETS).join(',')).split(',');
const resultsDir = repoPath('tools', 'fuzz', 'results');
const batchScript = process.env.VIM_TOOLS_OUT && `${process.env.VIM_TOOLS_OUT}/batch-main.mjs`;

if (argv.includes('--case')) await reproduce(readers[0], Number(arg('case', '0')));
else await fuzzAll();

async function reproduce(reader: string, index: number): Promise<void> {
  const { installAllocationGuard } = await import('./alloc-guard.js');
  installAllocationGuard();
  const { runCase } = await import('./harness.js');
  const { Rng } = await import('./rng.js');
  const target = TARGETS[reader];
  await target.prepare();
  const c = target.generate(new Rng(seed, reader, index));
  const o = await runCase(target, c);
  console.log(JSON.stringify({ reader, seed, index, kind: c.kind, length: c.bytes.length, ...o }, null, 2));
}

async function fuzzAll(): Promise<void> {
  if (!batchScript) throw new Error('run through tools/fuzz/run-ts.mjs (npm run fuzz), which builds the batch runner');
  const started = Date.now();
  const totals: Record<string, BatchSummary> = {};
  for (const reader of readers) {
    if (!TARGETS[reader]) throw new Error(`unknown reader '${reader}' (known: ${Object.keys(TARGETS).join(', ')})`);
    const batches: Array<[number, number]> = [];
    for (let s = 0; s < count; s += batchSize) batches.push([s, Math.min(batchSize, count - s)]);
    const parts: BatchSummary[] = [];
    // A small pool of children: at most `jobs` batches at once.
    const queue = [...batches];
    await Promise.all(Array.from({ length: jobs }, async () => {
      for (let b = queue.shift(); b; b = queue.shift()) parts.push(await runChild(reader, b[0], b[1]));
    }));
    totals[reader] = merge(reader, parts);
    const t = totals[reader];
    process.stderr.write(`${reader}: ${t.count} cases, ${t.bugs.length} bugs, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  printTable(totals);
  mkdirSync(resultsDir, { recursive: true });
  const file = arg('out', `${resultsDir}/fuzz-s${seed}.json`);
  const bounds = Object.fromEntries(readers.map((r) => [r, TARGETS[r].bounds]));
  writeFileSync(file, JSON.stringify({ seed, countPerReader: count, caseBudgetCpuMs: 2000, seconds: (Date.now() - started) / 1000, bounds, readers: totals }, null, 1));
  console.log(`results: ${file}`);
  process.exitCode = Object.values(totals).some((t) => t.bugs.length) ? 1 : 0;
}

/** Runs [start, start + n) in child processes, restarting after a crash or hang. */
async function runChild(reader: string, start: number, n: number): Promise<BatchSummary> {
  const summary = emptySummary(reader, seed, start);
  for (let from = start; from < start + n;) {
    const r = await childBatch(reader, from, start + n - from, summary);
    if (r.finished) break;
    // The child died during case r.current: that case is a bug; resume after it.
    record(summary, r.current, 'unknown', { outcome: r.outcome, ms: 0, wallMs: 0, largestAllocation: 0, detail: r.detail }, 1);
    from = r.current + 1;
  }
  return summary;
}

interface ChildEnd { finished: boolean; current: number; outcome: string; detail: string }

/** One child process; every case result it reports is recorded into `summary` as it arrives. */
function childBatch(reader: string, from: number, n: number, summary: BatchSummary): Promise<ChildEnd> {
  return new Promise((resolve) => {
    const child = fork(batchScript!, ['--reader', reader, '--seed', String(seed), '--start', String(from), '--count', String(n),
      '--bug-dir', `${resultsDir}/bugs`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let current = from, finished = false, hung = false;
    const onHang = () => { hung = true; child.kill('SIGKILL'); };
    let timer = setTimeout(onHang, HANG_MS);
    child.on('message', (m: { type: string; index?: number; result?: CaseResult }) => {
      clearTimeout(timer);
      timer = setTimeout(onHang, HANG_MS);
      if (m.type === 'case') current = m.index!;
      if (m.type === 'result') record(summary, m.result!.index, m.result!.kind, m.result!, m.result!.length);
      if (m.type === 'done') finished = true;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const outcome = hung ? 'bug:hang' : 'bug:crash';
      resolve({ finished, current, outcome, detail: hung ? `no progress for ${HANG_MS} ms` : `child exited with ${signal ?? code}` });
    });
  });
}

function mergeInto(into: BatchSummary, s: BatchSummary): void {
  into.count += s.count;
  for (const [k, v] of Object.entries(s.outcomes)) into.outcomes[k] = (into.outcomes[k] ?? 0) + v;
  for (const [kind, m] of Object.entries(s.kinds)) {
    const dst = (into.kinds[kind] ??= {});
    for (const [k, v] of Object.entries(m)) dst[k] = (dst[k] ?? 0) + v;
  }
  into.bugs.push(...s.bugs);
  if (s.maxMs > into.maxMs) into.slowest = s.slowest;
  into.maxMs = Math.max(into.maxMs, s.maxMs);
  into.maxWallMs = Math.max(into.maxWallMs, s.maxWallMs);
  into.totalMs += s.totalMs;
  into.largestAllocation = Math.max(into.largestAllocation, s.largestAllocation);
  into.largestAllocationRatio = Math.max(into.largestAllocationRatio, s.largestAllocationRatio);
}

function merge(reader: string, parts: BatchSummary[]): BatchSummary {
  const out = emptySummary(reader, seed, 0);
  for (const p of parts) mergeInto(out, p);
  out.bugs.sort((a, b) => a.index - b.index);
  return out;
}

function printTable(totals: Record<string, BatchSummary>): void {
  const outcomes = [...new Set(Object.values(totals).flatMap((t) => Object.keys(t.outcomes)))].sort();
  const head = ['reader', 'cases', ...outcomes.map((o) => o.replace(/^typed:/, '')), 'max cpu ms', 'max alloc'];
  const rows = Object.values(totals).map((t) => [t.reader, String(t.count), ...outcomes.map((o) => String(t.outcomes[o] ?? 0)),
    t.maxMs.toFixed(0), `${(t.largestAllocation / 2 ** 20).toFixed(1)} MiB`]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i])).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  for (const t of Object.values(totals)) {
    if (t.slowest) console.log(`  slowest ${t.reader}: case ${t.slowest.index} (${t.slowest.kind}) ${t.slowest.ms} ms`);
    for (const b of t.bugs.slice(0, 10)) console.log(`  BUG ${t.reader} case ${b.index} (${b.kind}): ${b.outcome} ${b.detail ?? ''}`);
  }
}
