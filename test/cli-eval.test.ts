// `vim-webgpu eval` as users run it (dist/cli.js) on a small ImageFolder of
// fresh random PNGs of odd sizes: the logits it saves must be the float64
// reference's on the same eval transform, its top-1/top-5/per-class figures must
// be the ones those logits give, and --compare-logits must report agreement
// exactly as computed from the two files.
import { beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { compare, fixturePath } from './fixtures.js';
import { cli, ensureCliBuilt, expectCliError as bad, readF32 } from './cli-support.js';
import { bufferSource, loadVimWeights, writeSafetensors } from '../src/weights/index.js';
import { referenceForward } from '../src/reference/vim.js';
import { decodeImage } from '../src/image/decode.js';
import { evalTransform, normalize } from '../src/image/preprocess.js';
import { topK } from '../src/model/top-k.js';

const tmp = mkdtempSync(join(tmpdir(), 'vim-eval-'));
const WNIDS = ['n01440764', 'n02102040', 'n02979186', 'n03000684', 'n03028079', 'n03394916', 'n03417042', 'n03425413', 'n03445777', 'n03888257'];
const C = 10;


let weights: string;
let tensors: Awaited<ReturnType<typeof loadVimWeights>>['tensors'];
let config: Awaited<ReturnType<typeof loadVimWeights>>['config'];
/** Image paths in the order eval visits them: classes round-robin (folders sorted, files sorted). */
const order: Array<{ path: string; label: number }> = [];

/** DIR/<wnid>/<name>.png for three classes, (2, 1, 2) images; `size` null = random odd sizes. */
function makeFolder(dir: string, size: number | null, seed: number): Array<{ path: string; label: number }> {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const perClass = [[0, 2], [3, 1], [7, 2]].map(([label, n]) => {
    mkdirSync(join(dir, WNIDS[label]), { recursive: true });
    return Array.from({ length: n }, (_, i) => {
      const w = size ?? 50 + Math.floor(rand() * 60), h = size ?? 50 + Math.floor(rand() * 60);
      const data = new Uint8Array(w * h * 3).map(() => Math.floor(rand() * 256));
      const path = join(dir, WNIDS[label], `img${i}.png`);
      writeFileSync(path, encodePng({ width: w, height: h, data, channels: 3, depth: 8 }));
      return { path, label };
    });
  });
  const out: Array<{ path: string; label: number }> = [];
  for (let i = 0; i < 2; i++) for (const c of perClass) if (i < c.length) out.push(c[i]);
  return out;
}

beforeAll(async () => {
  ensureCliBuilt();
  ({ tensors, config } = await loadVimWeights(bufferSource('tiny.pth', new Uint8Array(readFileSync(fixturePath('tiny.pth'))))));
  const classes = WNIDS.map((wnid, i) => ({ head_index: i, wnid, name: `class ${i}` }));
  weights = join(tmp, 'tiny-classes.safetensors');
  writeFileSync(weights, writeSafetensors(tensors, { classes: JSON.stringify(classes), arch: JSON.stringify({ img_size: 64 }) }));
  order.push(...makeFolder(join(tmp, 'odd'), null, 20261128 ^ Date.now()));
});

function referenceLogits(inputs: Float32Array[], size: number): Float64Array {
  const batch = new Float32Array(inputs.length * 3 * size * size);
  inputs.forEach((x, i) => batch.set(x, i * 3 * size * size));
  return referenceForward(tensors, config, batch, inputs.length, size, size).logits;
}

describe('vim-webgpu eval', () => {
  test('saved logits = float64 reference; reported accuracy = what they give', () => {
    const out = join(tmp, 'odd.logits');
    const r = cli(['eval', '--weights', weights, '--images', join(tmp, 'odd'), '--json', '--batch', '2', '--save-logits', out]);
    // Nothing on stderr but Dawn's own start-up warnings (no progress line with --json).
    expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: '))).toEqual([]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ images: 5, size: 64, cropRatio: 0.875 });
    const logits = readF32(out);
    expect(logits.length).toBe(5 * C);
    const ref = referenceLogits(order.map((s) => evalTransform(decodeImage(new Uint8Array(readFileSync(s.path)), s.path), 64)), 64);
    const err = compare(logits, ref, 1e-4, 1e-4);
    expect(err.ok, `max |Δ| ${err.maxAbs}`).toBe(true);
    let top1 = 0, top5 = 0;
    const perClass = new Map<number, [number, number]>();
    order.forEach((s, i) => {
      const top = topK(logits.subarray(i * C, (i + 1) * C), 5).map((t) => t.index);
      const [n, ok] = perClass.get(s.label) ?? [0, 0];
      perClass.set(s.label, [n + 1, ok + (top[0] === s.label ? 1 : 0)]);
      top1 += top[0] === s.label ? 1 : 0;
      top5 += top.includes(s.label) ? 1 : 0;
    });
    expect(res.top1).toBeCloseTo(top1 / 5, 12);
    expect(res.top5).toBeCloseTo(top5 / 5, 12);
    expect(res.perClass.map((c: { index: number; n: number; top1: number }) => [c.index, c.n, c.top1]))
      .toEqual([...perClass.entries()].sort(([a], [b]) => a - b).map(([k, [n, ok]]) => [k, n, ok / n]));
  });

  test('--crop-ratio 1 on images already at the input size: no resize, no crop', () => {
    const dir = join(tmp, 'exact');
    const list = makeFolder(dir, 64, 977);
    const out = join(tmp, 'exact.logits');
    const r = cli(['eval', '--weights', weights, '--images', dir, '--json', '--crop-ratio', '1', '--save-logits', out]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).cropRatio).toBe(1);
    const ref = referenceLogits(list.map((s) => normalize(decodeImage(new Uint8Array(readFileSync(s.path)), s.path))), 64);
    const err = compare(readF32(out), ref, 1e-4, 1e-4);
    expect(err.ok, `max |Δ| ${err.maxAbs}`).toBe(true);
  });

  test('--compare-logits: agreement, max |Δlogit| and cosine from the two files', () => {
    const saved = join(tmp, 'odd.logits');
    const base = readF32(saved);
    // Another "run": image 2's top class moved to a different class, image 0 shifted by 0.25.
    const other = base.slice();
    for (let j = 0; j < C; j++) other[j] += 0.25;
    const row2 = other.subarray(2 * C, 3 * C), top = topK(row2, 1)[0].index, second = topK(row2, 2)[1].index;
    row2[second] = row2[top] + 1;
    const otherPath = join(tmp, 'other.logits');
    writeFileSync(otherPath, new Uint8Array(other.buffer));
    const r = cli(['eval', '--weights', weights, '--images', join(tmp, 'odd'), '--json', '--compare-logits', saved, '--compare-logits', otherPath]);
    expect(r.code).toBe(0);
    const [self, moved] = JSON.parse(r.stdout).agreement;
    expect(self).toMatchObject({ logits: saved, images: 5, top1Agreement: 1 });
    expect(self.maxAbsLogit).toBeLessThan(1e-5);   // the same GPU computation repeated
    expect(moved.top1Agreement).toBeCloseTo(4 / 5, 12);
    let maxAbs = 0, minCos = 1;
    for (let i = 0; i < 5; i++) {
      let ab = 0, aa = 0, bb = 0;
      for (let j = 0; j < C; j++) {
        const a = base[i * C + j], b = other[i * C + j];
        maxAbs = Math.max(maxAbs, Math.abs(a - b)); ab += a * b; aa += a * a; bb += b * b;
      }
      minCos = Math.min(minCos, ab / Math.sqrt(aa * bb));
    }
    expect(moved.maxAbsLogit).toBeCloseTo(maxAbs, 4);
    expect(moved.minCosine).toBeCloseTo(minCos, 4);
  });

  describe('bad input: one clear line, exit 2', () => {
    test('saved logits of another folder (wrong length)', () => {
      const p = join(tmp, 'short.logits');
      writeFileSync(p, new Uint8Array(4 * C * 4));
      bad(['eval', '--weights', weights, '--images', join(tmp, 'odd'), '--compare-logits', p], /short\.logits.*5 images × 10 classes/);
    });
    test('crop ratio out of range', () => bad(['eval', '--weights', weights, '--images', join(tmp, 'odd'), '--crop-ratio', '0'], /crop-ratio/));
    test('a folder that is not one of the classes', () => {
      mkdirSync(join(tmp, 'stray', 'n99999999'), { recursive: true });
      bad(['eval', '--weights', weights, '--images', join(tmp, 'stray')], /n99999999/);
    });
    test('weights without class ids', () => bad(['eval', '--weights', fixturePath('tiny.pth'), '--images', join(tmp, 'odd')], /WordNet id/));
  });
});
