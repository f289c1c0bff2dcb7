// The benchmark page. The Playwright driver (driver.bench.ts) opens it once per case,
// so that every case starts on a fresh device with nothing left over from the last
// one (ORT keeps a buffer pool for as long as its runtime lives), and calls
// window.bench.* through page.evaluate.
import type { CaseResult, CaseSpec, OrtBuild } from './lib/cases.js';
import { runDeitCase, installConsoleTap, probeGraph, type GraphProbe, type Ort, type Reference } from './lib/deit-case.js';
import { trackGpuMemory } from './lib/gpu-memory.js';
import { MODELS, onnxPath, type ModelName } from './lib/models.js';
import { runVimCase } from './lib/vim-case.js';

// Before anything creates a device or loads ORT's WebAssembly (see both modules).
const memory = trackGpuMemory();
installConsoleTap();

// ORT is loaded from node_modules as the dev server serves it, not through Vite's
// dependency optimiser: its WebAssembly files are found relative to wasmPaths, which
// must point at the package's dist/ folder, and the benchmark must work offline.
const ORT_DIST = '/node_modules/onnxruntime-web/dist/';
const ORT_ENTRY: Record<OrtBuild, string> = { webgpu: 'ort.webgpu.min.mjs', jsep: 'ort.min.mjs' };

async function loadOrt(build: OrtBuild): Promise<Ort> {
  const ort = (await import(/* @vite-ignore */ ORT_DIST + ORT_ENTRY[build])) as Ort;
  ort.env.wasm.wasmPaths = ORT_DIST;
  // One thread: shape arithmetic is all ORT runs on the CPU here, and on a software
  // adapter every spare core belongs to the GPU.
  ort.env.wasm.numThreads = 1;
  return ort;
}

async function fetchBytes(path: string): Promise<Uint8Array> {
  const res = await fetch('/' + path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} (make the graphs with: python3 bench/deit/export_deit.py)`);
  return new Uint8Array(await res.arrayBuffer());
}

async function reference(model: ModelName, size: number): Promise<Reference | undefined> {
  const res = await fetch('/bench/deit/onnx/manifest.json');
  if (!res.ok) return undefined;
  const manifest = (await res.json()) as { files: Record<string, { reference?: Reference }> };
  return manifest.files[`${model}_${size}.onnx`]?.reference;
}

export interface PageInfo {
  userAgent: string;
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  features: string[];
  limits: Record<string, number>;
  ortVersion?: string;
}

async function info(build: OrtBuild): Promise<PageInfo> {
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter (Chromium needs --enable-unsafe-webgpu)');
  const i = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const limits: Record<string, number> = {};
  for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize'] as const) limits[k] = adapter.limits[k];
  const ort = await loadOrt(build);
  return {
    userAgent: navigator.userAgent,
    adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: Boolean(i.isFallbackAdapter) },
    features: [...adapter.features].sort(), limits, ortVersion: ort.env.versions.web,
  };
}

async function runCase(spec: CaseSpec): Promise<CaseResult> {
  if (MODELS[spec.model].arch === 'vim') return runVimCase(navigator.gpu, spec, memory);
  const [ort, graph, ref] = await Promise.all([loadOrt(spec.ort), fetchBytes(onnxPath(spec.model, spec.size)), reference(spec.model, spec.size)]);
  return runDeitCase(ort, graph, spec, memory, spec.batch === 1 ? ref : undefined);
}

async function probe(model: ModelName, size: number, build: OrtBuild): Promise<GraphProbe> {
  const [ort, graph] = await Promise.all([loadOrt(build), fetchBytes(onnxPath(model, size))]);
  return probeGraph(ort, graph);
}

const bench = { info, runCase, probe };
export type BenchPage = typeof bench;

declare global {
  interface Window {
    bench: BenchPage;
  }
}

window.bench = bench;
