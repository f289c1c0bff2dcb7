// `vim-webgpu bench`: speed of the WebGPU engine on procedural weights with the
// released architectures. Warm-up, then medians of repeated runs: wall clock
// (submit → work done) and GPU time from timestamp queries, plus a per-kernel
// split. On a software adapter the numbers only show relative cost.
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { acquireGpu, releaseGpu, type GpuContext } from '../gpu/context.js';
import { nodeGpu } from '../gpu/node.js';
import { GpuTimer, median } from '../gpu/timing.js';
import { geometry, type VimConfig } from '../model/config.js';
import { proceduralWeights } from '../model/procedural.js';
import { VimGpu } from '../model/vim-gpu.js';
import { chooseScanSchedule, type ScanSchedule } from '../ops/scan.js';

/** 'auto' = the schedule VimGpu picks for the shape (chooseScanSchedule). */
type ScanChoice = ScanSchedule | 'auto';

const MODELS: Record<string, { embedDim: number; seed: number }> = {
  vim_ti: { embedDim: 192, seed: 20240217 },
  vim_s: { embedDim: 384, seed: 20240317 },
};

export function vimConfig(embedDim: number, posRows: number): VimConfig {
  return {
    depth: 24, embedDim, dInner: 2 * embedDim, dState: 16, dConv: 4, dtRank: Math.ceil(embedDim / 16),
    patchSize: 16, numClasses: 1000, posRows, normEps: 1e-5,
  };
}

export interface BenchCase {
  model: string; size: number; stride: number; batch: number; scan: ScanChoice; schedule: ScanSchedule; tokens: number;
  /** Dispatches in one forward pass. */
  dispatches: number;
  wallMs: number; gpuMs: number | null; imagesPerSecond: number; bytesInUse: number;
  /** Where the wall time goes: the forward pass on an input already on the GPU (submit → done), */
  residentWallMs: number;
  /** encoding and submitting it (CPU), and the input's finite check plus upload (submit → done). */
  encodeMs: number; uploadMs: number;
  kernels: Array<{ kernel: string; ms: number; share: number }>;
}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

async function benchCase(ctx: GpuContext, model: string, size: number, stride: number, batch: number, scan: ScanChoice, runs: number): Promise<BenchCase> {
  const spec = MODELS[model];
  const probe = vimConfig(spec.embedDim, 0);
  const g = geometry(probe, size, size, stride);
  const cfg = vimConfig(spec.embedDim, g.tokens);
  const schedule = scan === 'auto' ? chooseScanSchedule(batch, g.tokens, cfg.dInner) : scan;
  const vim = new VimGpu(ctx, cfg, proceduralWeights(cfg, spec.seed), { scan: schedule });
  try {
    const plan = vim.plan(batch, size, size, stride);
    const input = new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i * 0.37));
    const all = plan.stages.flatMap((s) => s.dispatches);
    const done = () => ctx.device.queue.onSubmittedWorkDone();
    for (let i = 0; i < 3; i++) { vim.submit(plan, input); await done(); }
    const wall: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      vim.submit(plan, input);
      await done();
      wall.push(performance.now() - t0);
    }
    let gpuMs: number | null = null;
    const kernels: BenchCase['kernels'] = [];
    if (ctx.features.timestampQuery) {
      const timer = new GpuTimer(ctx, all.length);
      const gpu: number[] = [];
      for (let i = 0; i < runs; i++) gpu.push(await timer.timeOnePass(all));
      gpuMs = median(gpu) / 1e6;
      const perKernel = new Map<string, number[]>();
      for (let i = 0; i < Math.min(runs, 5); i++) {
        const sums = new Map<string, number>();
        for (const t of await timer.time(all)) {
          const kind = t.label.replace(/^l\d+\./, '');
          sums.set(kind, (sums.get(kind) ?? 0) + t.ns);
        }
        for (const [k, ns] of sums) perKernel.set(k, [...(perKernel.get(k) ?? []), ns]);
      }
      const total = [...perKernel.values()].reduce((a, v) => a + median(v), 0);
      for (const [kernel, v] of perKernel) kernels.push({ kernel, ms: median(v) / 1e6, share: median(v) / total });
      kernels.sort((a, b) => b.ms - a.ms);
      timer.destroy();
    }
    const wallMs = median(wall);
    // The same pass without writing the input (it is still in the plan's image buffer),
    // then the input's check and upload alone; 10 runs at most, the split needs no more.
    const resident: number[] = [], encode: number[] = [], upload: number[] = [];
    const splitRuns = Math.min(runs, 10);
    for (let i = 0; i < splitRuns; i++) {
      const t0 = performance.now();
      const enc = ctx.device.createCommandEncoder();
      vim.encodeForward(enc, plan);
      ctx.device.queue.submit([enc.finish()]);
      const t1 = performance.now();
      await done();
      resident.push(performance.now() - t0);
      encode.push(t1 - t0);
    }
    for (let i = 0; i < splitRuns; i++) {
      const t0 = performance.now();
      vim.writeInput(plan, input);
      ctx.device.queue.submit([]);
      await done();
      upload.push(performance.now() - t0);
    }
    return {
      model, size, stride, batch, scan, schedule, tokens: g.tokens, dispatches: all.length, wallMs, gpuMs,
      residentWallMs: median(resident), encodeMs: median(encode), uploadMs: median(upload),
      imagesPerSecond: batch / ((gpuMs ?? wallMs) / 1000), bytesInUse: ctx.buffers.bytesInUse, kernels,
    };
  } finally {
    vim.dispose();
  }
}

export async function bench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      model: { type: 'string', default: 'vim_ti' }, size: { type: 'string', default: '224' },
      batch: { type: 'string', default: '1' }, stride: { type: 'string', default: '16' },
      scan: { type: 'string', default: 'auto' }, runs: { type: 'string', default: '20' },
      json: { type: 'string' },
    },
  });
  const ctx = await acquireGpu({ gpu: await nodeGpu(['disable-dawn-features=timestamp_quantization']) });
  const results: BenchCase[] = [];
  const date = new Date().toISOString();
  const skipped: Array<{ model: string; size: number; stride: number; batch: number; scan: string; error: string }> = [];
  const adapter = `${ctx.adapterInfo.vendor} ${ctx.adapterInfo.architecture} ${ctx.adapterInfo.description}`.trim();
  process.stdout.write(`adapter: ${adapter || 'unknown'}${ctx.adapterInfo.isFallback ? ' (software fallback: relative cost only)' : ''}\n`);
  try {
    for (const model of list(values.model!)) {
      if (!MODELS[model]) throw new Error(`unknown model '${model}' (vim_ti, vim_s)`);
      for (const size of list(values.size!).map(Number)) {
        for (const batch of list(values.batch!).map(Number)) {
          for (const scan of list(values.scan!) as ScanChoice[]) {
            if (!['auto', 'single', 'chunked'].includes(scan)) throw new Error(`bench: --scan ${scan}: expected auto, single or chunked`);
            let r: BenchCase | undefined;
            try {
              r = await benchCase(ctx, model, size, Number(values.stride), batch, scan, Number(values.runs));
              results.push(r);
            } catch (e) {
              // A case over the device's limits (e.g. a buffer above maxBufferSize at a large
              // batch) is recorded and skipped; the other cases still run.
              const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
              skipped.push({ model, size, stride: Number(values.stride), batch, scan, error });
              process.stdout.write(`${model} ${size}px b${batch} ${scan}: skipped (${error})\n`);
            }
            // After every case, so a run stopped by a time limit keeps what it measured.
            if (values.json) await writeFile(values.json, JSON.stringify({ adapter, date, results, skipped }, null, 1));
            if (!r) continue;
            process.stdout.write(`${model} ${size}px s${r.stride} b${batch} ${scan.padEnd(7)} ${r.schedule.padEnd(7)} ${String(r.dispatches).padStart(3)} disp L=${r.tokens}  wall ${r.wallMs.toFixed(2)} ms  gpu ${r.gpuMs?.toFixed(2) ?? '-'} ms  ${r.imagesPerSecond.toFixed(1)} img/s` +
              `  (resident ${r.residentWallMs.toFixed(2)} ms, encode ${r.encodeMs.toFixed(2)} ms, check+upload ${r.uploadMs.toFixed(2)} ms)\n`);
            for (const k of r.kernels) process.stdout.write(`    ${k.kernel.padEnd(12)} ${k.ms.toFixed(3).padStart(9)} ms  ${(100 * k.share).toFixed(1).padStart(5)} %\n`);
          }
        }
      }
    }
  } finally {
    releaseGpu(ctx);
  }
}
