// Prints one line per test suite or build step and, last, the total as
// `N passed, M failed` (the line CI reads). Exits 1 if anything failed.
//
//   node scripts/summary.mjs build=0 vitest=1 playwright=0
//
// Each argument is a step name and its exit status. vitest and playwright are
// counted from their JSON reports in test-results/; a suite whose report is
// missing or unreadable crashed and counts as one failure, and so does one that
// exited non-zero with no failed test in its report (errors outside tests).
// Any other step (build, typecheck) counts as one failure when its status is
// non-zero, and as nothing when it passed.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const readers = {
  vitest(r) {
    // A file that fails to import has status 'failed' and no failed test in it.
    const brokenFiles = r.testResults.filter(
      (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
    );
    const failedTests = r.testResults.flatMap((f) =>
      f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${rel(f.name)} > ${a.fullName}`),
    );
    return {
      passed: r.numPassedTests,
      failed: r.numFailedTests + brokenFiles.length,
      skipped: r.numPendingTests + r.numTodoTests,
      names: [...brokenFiles.map((f) => `${rel(f.name)} (did not run: ${firstLine(f.message)})`), ...failedTests],
    };
  },
  playwright(r) {
    const failedTests = [];
    const walk = (suite) => {
      for (const spec of suite.specs ?? []) {
        const file = rel(join(r.config.rootDir, spec.file)); // spec.file is relative to testDir
        for (const t of spec.tests) if (t.status === 'unexpected') failedTests.push(`${file} > ${spec.title}`);
      }
      for (const s of suite.suites ?? []) walk(s);
    };
    for (const s of r.suites ?? []) walk(s);
    const errors = (r.errors ?? []).map((e) => `error: ${firstLine(e.message)}`);
    return {
      passed: r.stats.expected + r.stats.flaky,
      failed: r.stats.unexpected + errors.length,
      skipped: r.stats.skipped,
      names: [...errors, ...failedTests],
    };
  },
};

function rel(path) {
  return relative(process.cwd(), path);
}

function firstLine(text = '') {
  // Reports may carry ANSI colours; this summary stays plain.
  return text.replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n')[0];
}

function count(name, status) {
  const reader = readers[name];
  if (!reader) return { passed: 0, failed: status === 0 ? 0 : 1, skipped: 0, names: [], note: status === 0 ? 'ok' : `failed (exit ${status})` };
  let c;
  try {
    c = reader(JSON.parse(readFileSync(`test-results/${name}.json`, 'utf8')));
  } catch (e) {
    return { passed: 0, failed: 1, skipped: 0, names: [], note: `crashed: no readable test-results/${name}.json (exit ${status}; ${e.message})` };
  }
  if (status !== 0 && c.failed === 0) {
    c.failed = 1;
    c.names.push(`exited ${status} with no failed test: see its output above`);
  }
  return c;
}

const total = { passed: 0, failed: 0, skipped: 0 };
console.log('\n== test summary ==');
for (const arg of process.argv.slice(2)) {
  const [name, rc] = arg.split('=');
  const c = count(name, Number(rc));
  for (const k of Object.keys(total)) total[k] += c[k];
  const counts = `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
  console.log(`${name.padEnd(11)} ${c.note ?? counts}`);
  for (const n of c.names.slice(0, 30)) console.log(`  ✗ ${n}`);
  if (c.names.length > 30) console.log(`  … and ${c.names.length - 30} more`);
}
if (total.skipped) console.log(`(${total.skipped} skipped)`);
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exitCode = total.failed > 0 ? 1 : 0;
