// `npm run soak [-- --runs 10000 --every 100 --via vimgpu,api --concurrency 100]`
// The long soak: --runs inferences per path with the resource curve sampled
// every --every runs, then the stress checks (concurrency, dispose during
// inference, device loss with recovery). Prints min / max / slope of each
// curve and every check's outcome; writes tools/soak/results/soak-<runs>.json.
// Exits 1 on a wrong result, a leak signal or a check with bugs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { concurrentClassify, concurrentForwards, deviceLossRecovery, deviceLossVimGpu, disposeClassifierDuringInference, disposeDuringInference } from './checks.js';
import type { SeriesStats } from './curve.js';
import { loadTiny } from './fixtures.js';
import { soak, type SoakResult, type Via } from './soak.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const runs = Number(arg('runs', '10000'));
const every = Number(arg('every', '100'));
const vias = arg('via', 'vimgpu,api').split(',') as Via[];
const concurrency = Number(arg('concurrency', '100'));
const root = process.env.VIM_REPO_ROOT ?? process.cwd();
const out = arg('out', join(root, 'tools', 'soak', 'results', `soak-${runs}.json`));

/**
 * "Flat": no GPU buffer or byte more at the end than after warm-up, and a heap
 * that does not keep growing: a Theil-Sen slope under 64 KiB per 1,000 runs.
 * The leak this soak found (a reaction left on device.lost per call) grew ~1 MiB
 * per 1,000 runs; a leak of one 64-byte object per run is exactly at the limit.
 */
const HEAP_SLOPE_LIMIT = 64 * 1024;

const tiny = await loadTiny();
const results: SoakResult[] = [];
for (const via of vias) {
  process.stderr.write(`soak ${via}: ${runs} runs\n`);
  results.push(await soak(tiny, {
    via, runs, every,
    onSample: (s) => { if (s.run % (every * 10) === 0) process.stderr.write(`  ${via} run ${s.run}: heap ${(s.heapUsed / 2 ** 20).toFixed(2)} MiB, ${s.liveBuffers} buffers, ${s.msPerRun.toFixed(1)} ms/run\n`); },
  }));
}
process.stderr.write('checks\n');
const checks = {
  concurrentForwards: await concurrentForwards(tiny, concurrency),
  concurrentClassify: await concurrentClassify(tiny, concurrency),
  disposeDuringInference: await disposeDuringInference(tiny),
  disposeClassifierDuringInference: await disposeClassifierDuringInference(tiny),
  deviceLossVimGpu: await deviceLossVimGpu(tiny),
  deviceLossRecovery: await deviceLossRecovery(tiny, 30, 5),
};

const mib = (b: number) => (b / 2 ** 20).toFixed(2);
const fmt = (s: SeriesStats, unit: (v: number) => string) => `${unit(s.min)} .. ${unit(s.max)} (first ${unit(s.first)}, last ${unit(s.last)}, slope ${unit(s.slopePer1000)}/1000 runs)`;
const problems: string[] = [];
for (const r of results) {
  console.log(`\n${r.via}: ${r.runs} inferences in ${r.seconds.toFixed(0)} s, ${r.wrong} wrong, max |Δ| ${r.maxLogitDiff.toExponential(2)}`);
  if (r.via === 'vimgpu') console.log(`  live GPU buffers  ${fmt(r.stats.liveBuffers, String)}`);
  console.log(`  GPU bytes (MiB)   ${fmt(r.stats.gpuBytes, mib)}`);
  console.log(`  JS heap (MiB)     ${fmt(r.stats.heapUsed, mib)}`);
  console.log(`  RSS (MiB)         ${fmt(r.stats.rss, mib)}`);
  if (r.wrong) problems.push(`${r.via}: ${r.wrong} wrong results`);
  if (r.stats.liveBuffers.max !== r.stats.liveBuffers.min) problems.push(`${r.via}: live GPU buffers changed`);
  if (r.stats.gpuBytes.max !== r.stats.gpuBytes.min) problems.push(`${r.via}: GPU bytes changed`);
  if (r.stats.heapUsed.slopePer1000 > HEAP_SLOPE_LIMIT) problems.push(`${r.via}: heap grows ${mib(r.stats.heapUsed.slopePer1000)} MiB per 1000 runs`);
  if (r.leftAfterDispose) problems.push(`${r.via}: ${r.leftAfterDispose} buffers left after dispose()`);
}
console.log('\nchecks');
for (const [name, c] of Object.entries(checks)) {
  console.log(`  ${name.padEnd(34)} ${c.calls} calls: ${c.correct} correct, typed ${JSON.stringify(c.typed)}, ${c.bugs.length} bugs` +
    ('buffersLeft' in c ? `, ${c.buffersLeft} buffers left` : '') + ('losses' in c ? `, ${c.losses} losses, ${c.devices} devices` : ''));
  problems.push(...c.bugs.map((b) => `${name}: ${b}`));
}
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, JSON.stringify({ runs, every, heapSlopeLimitPer1000: HEAP_SLOPE_LIMIT, results, checks, problems }, null, 1));
console.log(`\nresults: ${out}`);
if (problems.length) { console.log(`PROBLEMS:\n  ${problems.join('\n  ')}`); process.exitCode = 1; }
