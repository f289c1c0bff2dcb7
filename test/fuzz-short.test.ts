// The short fuzz run CI does: ~300 generated hostile inputs per reader, each
// ending in a typed VimError or a valid result within 2 s, with no allocation
// above the reader's stated bound (tools/fuzz/harness.ts has the contract).
// The long run is `npm run fuzz` (10,000 per reader, child process per batch).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installAllocationGuard } from '../tools/fuzz/alloc-guard.js';
import type { BatchSummary } from '../tools/fuzz/batch.js';

// Before any reader or decoder library is loaded, so their allocations are watched too.
installAllocationGuard();
const { runBatch } = await import('../tools/fuzz/batch.js');

const CASES = 300;
const SEED = 20260521;
const summaries: BatchSummary[] = [];
afterAll(() => {
  for (const s of summaries) console.log(`${s.reader}: ${JSON.stringify(s.outcomes)} max ${s.maxMs.toFixed(0)} ms, total ${s.totalMs.toFixed(0)} ms`);
});

describe.each(['pth', 'safetensors', 'vimw', 'vimw-stream', 'png', 'jpeg'])('%s', (reader) => {
  let s: BatchSummary;
  beforeAll(async () => {
    s = await runBatch({ reader, seed: SEED, start: 0, count: CASES });
    summaries.push(s);
  });

  test('every case ends in a typed error or a valid result, in time, within the allocation bound', () => {
    expect(s.count).toBe(CASES);
    expect(s.bugs.map((b) => `case ${b.index} (${b.kind}): ${b.outcome} ${b.detail ?? ''}`)).toEqual([]);
    expect(s.maxMs).toBeLessThan(2000);
  });

  test('the generators reach both outcomes (hostile inputs refused, harmless ones accepted)', () => {
    const valid = Object.entries(s.outcomes).filter(([o]) => o.startsWith('valid')).reduce((n, [, v]) => n + v, 0);
    const typed = Object.entries(s.outcomes).filter(([o]) => o.startsWith('typed:')).reduce((n, [, v]) => n + v, 0);
    expect(valid).toBeGreaterThan(CASES / 20);
    expect(typed).toBeGreaterThan(CASES / 2);
  });
});

test('npm run fuzz: child processes per batch, a results file and a table', () => {
  const root = join(__dirname, '..');
  const out = join(mkdtempSync(join(tmpdir(), 'vim-fuzz-')), 'results.json');
  const r = spawnSync(process.execPath, ['tools/fuzz/run-ts.mjs', 'tools/fuzz/main.ts', 'tools/fuzz/batch-main.ts', '--',
    '--reader', 'safetensors', '--count', '20', '--batch', '10', '--seed', '77', '--out', out], { cwd: root, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/reader\s+cases/);
  const results = JSON.parse(readFileSync(out, 'utf8'));
  expect(results.readers.safetensors.count).toBe(20);
});
