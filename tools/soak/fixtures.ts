// The tiny fixture model and its official outputs: the soak's ground truth.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadVimWeights } from '../../src/weights/index.js';
import { bufferSource } from '../../src/weights/source.js';
import type { VimConfig } from '../../src/model/config.js';
import type { StateDict } from '../../src/tensor.js';

const root = process.env.VIM_REPO_ROOT ?? process.cwd();
const fixture = (name: string) => readFileSync(join(root, 'test', 'fixtures', 'vim', name));
const f32 = (name: string) => { const b = fixture(name); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };

/** One 64x64 image and the logits the official model gives it. */
export interface Case { input: Float32Array; logits: Float32Array }

export interface Tiny {
  bytes: Uint8Array;
  config: VimConfig;
  tensors: StateDict;
  /** Three single images with their official logits. */
  cases: Case[];
  /** Both batch-2 images at once, and their logits. */
  batch2: Case;
}

export async function loadTiny(): Promise<Tiny> {
  const bytes = new Uint8Array(fixture('tiny.pth'));
  const { config, tensors } = await loadVimWeights(bufferSource('tiny.pth', bytes));
  const b2 = f32('tiny_batch2_input.bin'), l2 = f32('tiny_batch2_logits.bin');
  const n = 3 * 64 * 64, k = config.numClasses;
  const cases = [
    { input: f32('tiny_input.bin'), logits: f32('tiny_logits.bin') },
    { input: b2.slice(0, n), logits: l2.slice(0, k) },
    { input: b2.slice(n), logits: l2.slice(k) },
  ];
  return { bytes, config, tensors, cases, batch2: { input: b2, logits: l2 } };
}

/** Largest |a - b|. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function softmax(logits: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(logits));
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
