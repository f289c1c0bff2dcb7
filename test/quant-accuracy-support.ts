// Accuracy of reduced weights (int8, f16) against the float32 fixtures: each
// case's weights go through the real path (convert → vim-webgpu bytes →
// streaming loader → VimGpu), and the logits are compared with the official
// f32 logits. Shared by the quant-accuracy*.test.ts files, which split the
// cases so each file stays under a minute on a software adapter.
import { readFileSync } from 'node:fs';
import { fixturePath, readBin, readManifest } from './fixtures.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { VimConfig } from '../src/model/config.js';
import { VimGpu } from '../src/model/vim-gpu.js';
import { proceduralWeights } from '../src/model/procedural.js';
import { topK } from '../src/model/top-k.js';
import { writeSafetensors } from '../src/weights/index.js';
import { bufferSource } from '../src/weights/source.js';
import { convertWeights } from '../src/weights/convert.js';
import { concatVimFile } from '../src/weights/format-write.js';
import { loadWeights } from '../src/weights/stream-loader.js';
import type { WeightDType } from '../src/weights/weight-dtype.js';


export interface AccuracyRow {
  case: string;
  dtype: WeightDType;
  fileBytes: number;
  maxAbs: number;
  /** lowest cosine similarity of logit vectors over the case's images */
  cosine: number;
  top1: string;
  top5: string;
}

/** Targets of issue 5 on the fixtures. */
export const COSINE_TARGET: Record<WeightDType, number> = { f32: 1, f16: 0.9999, int8: 0.995 };

interface CaseSpec { name: string; weights: () => Uint8Array; inputs: Array<[string, string, number]>; size: number }

function procedural(name: string): Uint8Array {
  const c = readManifest().cases[name];
  const cfg: VimConfig = {
    depth: c.depth, embedDim: c.embed_dim, dInner: c.d_inner, dState: c.d_state, dConv: c.d_conv,
    dtRank: c.dt_rank, patchSize: c.patch_size, numClasses: c.num_classes, posRows: c.seq_len, normEps: 1e-5,
  };
  return writeSafetensors(proceduralWeights(cfg, c.procedural!.seed));
}

/** Fixture cases: weights, (input, expected logits, batch) pairs, input size. */
export const CASES: Record<string, CaseSpec> = {
  tiny: {
    name: 'tiny', weights: () => new Uint8Array(readFileSync(fixturePath('tiny.pth'))), size: 64,
    inputs: [['tiny_input.bin', 'tiny_logits.bin', 1], ['tiny_batch2_input.bin', 'tiny_batch2_logits.bin', 2]],
  },
  vim_ti_224: { name: 'vim_ti_224', weights: () => procedural('vim_ti_224'), size: 224, inputs: [['vim_input_224.bin', 'vim_ti_224_logits.bin', 1]] },
  vim_ti_320: { name: 'vim_ti_320', weights: () => procedural('vim_ti_320'), size: 320, inputs: [['vim_input_320.bin', 'vim_ti_320_logits.bin', 1]] },
  vim_ti_s8_224: { name: 'vim_ti_s8_224', weights: () => procedural('vim_ti_s8_224'), size: 224, inputs: [['vim_input_224.bin', 'vim_ti_s8_224_logits.bin', 1]] },
  vim_s_224: { name: 'vim_s_224', weights: () => procedural('vim_s_224'), size: 224, inputs: [['vim_input_224.bin', 'vim_s_224_logits.bin', 1]] },
};

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

export async function measure(ctx: GpuContext, spec: CaseSpec, dtype: WeightDType): Promise<AccuracyRow> {
  const file = concatVimFile(await convertWeights(bufferSource(spec.name, spec.weights()), { dtype }));
  const loaded = await loadWeights(ctx, file, { cache: false });
  const vim = new VimGpu(ctx, loaded.config, loaded.weights);
  let maxAbs = 0, cos = 1, images = 0, top1 = 0, top5 = 0;
  try {
    for (const [input, logitsFile, batch] of spec.inputs) {
      const got = await vim.forward(readBin(input), batch, spec.size, spec.size);
      const want = readBin(logitsFile);
      const C = want.length / batch;
      for (let b = 0; b < batch; b++) {
        const g = got.subarray(b * C, (b + 1) * C), w = want.subarray(b * C, (b + 1) * C);
        for (let i = 0; i < C; i++) maxAbs = Math.max(maxAbs, Math.abs(g[i] - w[i]));
        cos = Math.min(cos, cosine(g, w));
        const tg = topK(g, 5).map((t) => t.index), tw = topK(w, 5).map((t) => t.index);
        top1 += tg[0] === tw[0] ? 1 : 0;
        top5 += tg.filter((i) => tw.includes(i)).length;
        images++;
      }
    }
  } finally {
    vim.dispose();
  }
  return {
    case: spec.name, dtype, fileBytes: file.length, maxAbs, cosine: cos,
    top1: `${top1}/${images}`, top5: `${top5}/${5 * images}`,
  };
}

export function printTable(rows: AccuracyRow[]): void {
  const lines = ['| case | dtype | file bytes | max |Δlogit| | min cosine | top-1 agree | top-5 overlap |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.case} | ${r.dtype} | ${r.fileBytes} | ${r.maxAbs.toExponential(2)} | ${r.cosine.toFixed(7)} | ${r.top1} | ${r.top5} |`);
  }
  console.log(`int8 / f16 against the f32 fixtures (WebGPU, Node/Dawn):\n${lines.join('\n')}`);
}
