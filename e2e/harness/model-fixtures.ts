// The whole WebGPU model in the page against the official fixtures: the weights
// come from the fixture files over HTTP (tiny.pth through the .pth reader) or
// from the procedural definition (24-layer cases), the input from the stored
// preprocessed tensor. Returns logits and features for the spec to compare.
import { VimGpu } from '../../src/model/vim-gpu.js';
import { proceduralWeights } from '../../src/model/procedural.js';
import { loadVimWeights, bufferSource } from '../../src/weights/index.js';
import type { VimConfig } from '../../src/model/config.js';
import type { StateDict } from '../../src/tensor.js';
import { pageGpu } from './gpu.js';

const FIXTURES = '/test/fixtures/vim/';

async function bytes(name: string): Promise<Uint8Array> {
  const r = await fetch(FIXTURES + name);
  if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function floats(name: string): Promise<Float32Array> {
  const b = await bytes(name);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

interface CaseSpec { input: string; size: number; weights(): Promise<{ config: VimConfig; tensors: StateDict }> }

const VIM_TI = (posRows: number): VimConfig => ({
  depth: 24, embedDim: 192, dInner: 384, dState: 16, dConv: 4, dtRank: 12, patchSize: 16, numClasses: 1000, posRows, normEps: 1e-5,
});

const CASES: Record<string, CaseSpec> = {
  tiny: { input: 'tiny_input.bin', size: 64, weights: async () => loadVimWeights(bufferSource('tiny.pth', await bytes('tiny.pth'))) },
  vim_ti_224: { input: 'vim_input_224.bin', size: 224, weights: async () => ({ config: VIM_TI(197), tensors: proceduralWeights(VIM_TI(197), 20240217) }) },
};

export async function modelFixture(name: string): Promise<{ logits: number[]; features: number[]; adapter: string; ms: number }> {
  const spec = CASES[name];
  if (!spec) throw new Error(`unknown case ${name}`);
  const ctx = await pageGpu();
  const { config, tensors } = await spec.weights();
  const vim = new VimGpu(ctx, config, tensors);
  try {
    const t0 = performance.now();
    const { logits, tokens, geometry } = await vim.forwardWithFeatures(await floats(spec.input), 1, spec.size, spec.size);
    const D = config.embedDim, cls = geometry.clsIndex;
    return {
      logits: Array.from(logits),
      features: Array.from(tokens.subarray(cls * D, (cls + 1) * D)),
      adapter: `${ctx.adapterInfo.vendor} ${ctx.adapterInfo.architecture}`.trim(),
      ms: performance.now() - t0,
    };
  } finally {
    vim.dispose();
  }
}
