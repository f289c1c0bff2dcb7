// A forward pass's raw outputs → what infer() answers: logits checked finite,
// each image's top-k classes by softmax probability, and its class token and
// patch tokens split out of the final-normed sequence. Shared by every engine,
// so the worker answers with a few numbers per image instead of whole tensors.
import type { Geometry } from '../model/config.js';
import { checkFiniteOutput } from '../model/numerics.js';
import { softmax, topK } from '../model/top-k.js';
import type { InferOptions, InferResult, ScoredClass, TokenFeatures } from './engine.js';

/** One pass over a chunk of images: logits (B, classes), and the final-normed tokens (B, L, D) when features were asked for. */
export interface PassOutput {
  logits: Float32Array;
  tokens?: Float32Array;
  geometry: Geometry;
  gpuMs?: number;
}

function scored(row: Float32Array, k: number): ScoredClass[] {
  return topK(softmax(row), Math.min(Math.floor(k), row.length)).map(({ index, value }) => ({ index, score: value }));
}

/** Tokens are [patches before M//2, class token, the rest]: lift the class row out. */
function splitTokens(tokens: Float32Array, g: Geometry, dim: number): TokenFeatures {
  const patches = new Float32Array(g.patches * dim);
  patches.set(tokens.subarray(0, g.clsIndex * dim), 0);
  patches.set(tokens.subarray((g.clsIndex + 1) * dim, g.tokens * dim), g.clsIndex * dim);
  return { cls: tokens.slice(g.clsIndex * dim, (g.clsIndex + 1) * dim), patches };
}

/** The passes of one infer() call, in image order, as its result. */
export function inferResult(passes: readonly PassOutput[], classes: number, dim: number, o: InferOptions): InferResult {
  const images = passes.reduce((n, p) => n + p.logits.length / classes, 0);
  const logits = new Float32Array(images * classes);
  const top: ScoredClass[][] = [];
  const features: TokenFeatures[] = [];
  let at = 0;
  for (const p of passes) {
    checkFiniteOutput(p.logits);
    if (p.tokens) checkFiniteOutput(p.tokens, 'features');
    logits.set(p.logits, at * classes);
    const batch = p.logits.length / classes, seq = p.geometry.tokens * dim;
    for (let b = 0; b < batch; b++) {
      if (o.topK !== undefined) top.push(scored(p.logits.subarray(b * classes, (b + 1) * classes), o.topK));
      if (o.features && p.tokens) features.push(splitTokens(p.tokens.subarray(b * seq, (b + 1) * seq), p.geometry, dim));
    }
    at += batch;
  }
  const result: InferResult = { logits };
  if (o.topK !== undefined) result.top = top;
  if (o.features) result.features = features;
  const times = passes.map((p) => p.gpuMs);
  if (o.timed && times.length > 0 && times.every((t) => t !== undefined)) result.gpuMs = (times as number[]).reduce((a, t) => a + t, 0);
  return result;
}

/** Splits a batch into runs of at most `max` (the device's batch ceiling). */
export function chunks<T>(items: readonly T[], max: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += max) out.push(items.slice(i, i + max));
  return out;
}
