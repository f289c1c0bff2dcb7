// The benchmark in Node through Dawn: the same cases, schedule and report as the
// Chromium page, each case in a child process of its own (the equivalent of the
// page's fresh tab: a new device, ORT's runtime and buffer pool started anew, and a
// hung case can be killed). Built by node/vite.config.ts into e2e/bench/.build/run.mjs:
//   node e2e/bench/.build/run.mjs            options from BENCH_* (see ../run.sh)
// BENCH_OUT: results folder (default bench/results); BENCH_ONNX_DIR: the DeiT graphs
// (default bench/deit/onnx); BENCH_ORT_DIR: onnxruntime-web's dist/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult, CaseSpec, OrtBuild } from '../lib/cases.js';
import { installConsoleTap, probeGraph, runDeitCase, type GraphProbe, type Reference } from '../lib/deit-case.js';
import { trackGpuMemory } from '../lib/gpu-memory.js';
import { MODELS, type ModelName } from '../lib/models.js';
import { adapterSlug, computeRatios, type BenchDocument } from '../lib/results.js';
import { graphsFromManifest, logRatios, runSchedule } from '../lib/run.js';
import { optionsFromEnv } from '../lib/schedule.js';
import { runVimCase } from '../lib/vim-case.js';
import { renderReport } from '../report/render.js';
import { dawnGpu, loadOrtNode, tapOrtLog } from './runtime.js';

const onnxDir = process.env.BENCH_ONNX_DIR ?? 'bench/deit/onnx';
const graphFile = (m: ModelName, size: number) => join(onnxDir, `${m}_${size}.onnx`);

type Job = { kind: 'case'; spec: CaseSpec } | { kind: 'probe'; model: ModelName; size: number; ort: OrtBuild };

/** In the child: one case or probe, its result as one `RESULT {json}` line. */
async function child(job: Job): Promise<void> {
  installConsoleTap(); // before ORT loads (see deit-case.ts)
  tapOrtLog();
  const gpu = await dawnGpu();
  const memory = trackGpuMemory();
  let out: CaseResult | GraphProbe;
  if (job.kind === 'probe') {
    out = await probeGraph(await loadOrtNode(job.ort), readFileSync(graphFile(job.model, job.size)));
  } else if (MODELS[job.spec.model].arch === 'vim') {
    out = await runVimCase(gpu, job.spec, memory);
  } else {
    const { model, size, batch } = job.spec;
    const manifest = join(onnxDir, 'manifest.json');
    const ref = existsSync(manifest) && batch === 1
      ? (JSON.parse(readFileSync(manifest, 'utf8')) as { files: Record<string, { reference?: Reference }> }).files[`${model}_${size}.onnx`]?.reference
      : undefined;
    out = await runDeitCase(await loadOrtNode(job.spec.ort), readFileSync(graphFile(model, size)), job.spec, memory, ref);
  }
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

/** In the parent: runs a job in a child process, killed after limitMs. */
function inChild<T>(job: Job, limitMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), limitMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)) as T);
      const why = signal === 'SIGKILL' ? `killed after ${(limitMs / 1000).toFixed(0)} s` : `exit ${code}`;
      const last = stderr.split('\n').filter((l) => l.trim() && !/VerifyEachNodeIsAssignedToAnEp/.test(l)).slice(-2).join(' | ');
      reject(new Error(`${why}${last ? `: ${last.slice(0, 240)}` : ''}`));
    });
  });
}

async function adapterInfo(): Promise<Pick<BenchDocument, 'adapter' | 'limits'>> {
  const gpu = await dawnGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter from Dawn (is a Vulkan driver installed? see bench/README.md)');
  const i = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: Boolean(i.isFallbackAdapter) },
    limits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  };
}

async function parent(): Promise<void> {
  const o = optionsFromEnv(process.env);
  const started = Date.now();
  const { adapter, limits } = await adapterInfo();
  const ort = await loadOrtNode(o.ort).catch(() => undefined);
  console.log(`adapter: ${JSON.stringify(adapter)}; ORT ${ort?.env.versions.web ?? 'not found'} (${o.ort})`);
  const { probes, results } = await runSchedule(o, limits.maxStorageBufferBindingSize, {
    graphPath: graphFile,
    hasGraph: (m, size) => existsSync(graphFile(m, size)),
    probe: (model, size) => inChild<GraphProbe>({ kind: 'probe', model, size, ort: o.ort }, 900_000),
    runCase: (spec) => inChild<CaseResult>({ kind: 'case', spec }, 3 * spec.budgetMs + 900_000),
  });
  const doc: BenchDocument = {
    kind: 'vim-webgpu browser benchmark', runtime: `node-dawn (node ${process.version})`, date: new Date().toISOString(),
    userAgent: `node ${process.version}`, adapter, limits, ort: { version: ort?.env.versions.web, build: o.ort, probes },
    graphs: graphsFromManifest(join(onnxDir, 'manifest.json')),
    options: o, results, ratios: computeRatios(results), wallSeconds: (Date.now() - started) / 1000,
  };
  const outDir = process.env.BENCH_OUT ?? 'bench/results';
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, `browser-node-${adapterSlug(adapter)}-${doc.date.slice(0, 10)}`);
  writeFileSync(`${stem}.json`, JSON.stringify(doc, null, 1) + '\n');
  writeFileSync(`${stem}.html`, renderReport(doc));
  console.log(`results: ${stem}.json, ${stem}.html (PNG: npm run bench:browser -- --report ${stem}.json)`);
  logRatios(doc.ratios);
}

const at = process.argv.indexOf('--child');
(at >= 0 ? child(JSON.parse(process.argv[at + 1]) as Job) : parent()).then(
  () => process.exit(0), // Dawn keeps the event loop alive otherwise
  (e: unknown) => { console.error(e); process.exit(1); },
);
