// The `vim-webgpu` command as users run it (the built dist/cli.js): logits from
// the weight files as stored, for every fixture case, on both backends; clear
// one-line errors with a non-zero exit for bad input.
import { beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, fixturePath, readBin, readManifest } from './fixtures.js';
import { cli, ensureCliBuilt, expectCliError as bad, readF32 } from './cli-support.js';
import { proceduralWeights } from '../src/model/procedural.js';
import { writeSafetensors } from '../src/weights/index.js';
import type { VimConfig } from '../src/model/config.js';

const tmp = mkdtempSync(join(tmpdir(), 'vim-cli-'));

/** The procedural weights of a fixture case, stored as a safetensors file. */
function caseWeightsFile(name: string): string {
  const path = join(tmp, `${name}.safetensors`);
  if (!existsSync(path)) {
    const c = readManifest().cases[name];
    const cfg: VimConfig = {
      depth: c.depth, embedDim: c.embed_dim, dInner: c.d_inner, dState: c.d_state, dConv: c.d_conv,
      dtRank: c.dt_rank, patchSize: c.patch_size, numClasses: c.num_classes, posRows: c.seq_len, normEps: 1e-5,
    };
    writeFileSync(path, writeSafetensors(proceduralWeights(cfg, c.procedural!.seed)));
  }
  return path;
}

beforeAll(ensureCliBuilt);

const maxErr: Record<string, number> = {};

describe('infer reproduces the official logits', () => {
  const cases: Array<[string, string, string, number, string, number]> = [
    // case, weights, input, size, expected logits, tolerance (docs/model.md §4: tiny at 1e-4, 24-layer at 1e-3)
    ['tiny', fixturePath('tiny.pth'), 'tiny_input.bin', 64, 'tiny_logits.bin', 1e-4],
    ['tiny (full checkpoint)', fixturePath('tiny_full_checkpoint.pth'), 'tiny_input.bin', 64, 'tiny_logits.bin', 1e-4],
    ['tiny batch 2', fixturePath('tiny.pth'), 'tiny_batch2_input.bin', 64, 'tiny_batch2_logits.bin', 1e-4],
    ['vim_ti_224', 'vim_ti_224', 'vim_input_224.bin', 224, 'vim_ti_224_logits.bin', 1e-3],
    ['vim_ti_s8_224', 'vim_ti_s8_224', 'vim_input_224.bin', 224, 'vim_ti_s8_224_logits.bin', 1e-3],
    ['vim_ti_320', 'vim_ti_320', 'vim_input_320.bin', 320, 'vim_ti_320_logits.bin', 1e-3],
    ['vim_s_224', 'vim_s_224', 'vim_input_224.bin', 224, 'vim_s_224_logits.bin', 1e-3],
  ];
  for (const backend of ['reference', 'webgpu'] as const) {
    for (const [name, weights, input, size, expected, tol] of cases) {
      test(`${name} (${backend})`, () => {
        const w = weights.endsWith('.pth') ? weights : caseWeightsFile(weights);
        const out = join(tmp, `${name.replace(/\W+/g, '_')}.${backend}.bin`);
        const r = cli(['infer', '--weights', w, '--input', fixturePath(input), '--size', `${size}x${size}`, '--backend', backend, '--out', out, '--json']);
        // (Dawn itself may print adapter warnings to stderr; our errors start with 'vim-webgpu:'.)
        expect(r.stderr).not.toMatch(/vim-webgpu:/);
        expect(r.code).toBe(0);
        const want = readBin(expected);
        const got = readF32(out);
        const c = compare(got, want, tol, tol);
        maxErr[`${name} ${backend}`] = c.maxAbs;
        expect(c.ok, `max |Δ| ${c.maxAbs}`).toBe(true);
        const top = JSON.parse(r.stdout);
        const first = Array.isArray(top[0]) ? top[0] : top;
        expect(first).toHaveLength(5);
        if (want.length === 1000) expect(first[0].label).toBeTypeOf('string');
      });
    }
  }
  test.sequential('report', () => { console.log('CLI max |Δlogit|:', JSON.stringify(maxErr, null, 1)); });
});

describe('images', () => {
  test('--image runs the eval transform (matches the preprocessed fixture input)', () => {
    const viaImage = join(tmp, 'img.bin'), viaInput = join(tmp, 'inp.bin');
    const w = fixturePath('tiny.pth');
    expect(cli(['infer', '--weights', w, '--image', fixturePath('tiny_image.png'), '--backend', 'reference', '--out', viaImage]).code).toBe(0);
    expect(cli(['infer', '--weights', w, '--input', fixturePath('tiny_input.bin'), '--size', '64', '--backend', 'reference', '--out', viaInput]).code).toBe(0);
    expect(Array.from(readF32(viaImage))).toEqual(Array.from(readF32(viaInput)));
  });
});

describe('bad input: one clear line, non-zero exit', () => {
  test('missing weights file', () => bad(['infer', '--weights', join(tmp, 'nope.pth'), '--image', fixturePath('tiny_image.png')], /nope\.pth/));
  test('weights that are not a checkpoint', () => {
    const p = join(tmp, 'page.pth');
    writeFileSync(p, '<html>not found</html>');
    bad(['infer', '--weights', p, '--image', fixturePath('tiny_image.png')], /page\.pth.*HTML/);
  });
  test('image that is not an image', () => bad(['infer', '--weights', fixturePath('tiny.pth'), '--image', fixturePath('tiny_logits.bin')], /tiny_logits\.bin/));
  test('input of the wrong size', () => bad(['infer', '--weights', fixturePath('tiny.pth'), '--input', fixturePath('tiny_logits.bin'), '--size', '64'], /tiny_logits\.bin.*float32/));
  test('input size that does not fit the position table', () => bad(['infer', '--weights', fixturePath('tiny.pth'), '--input', fixturePath('vim_input_224.bin'), '--size', '224', '--backend', 'reference'], /pos_embed|position table/));
  test('unknown option', () => bad(['infer', '--weights', fixturePath('tiny.pth'), '--bogus'], /bogus/));
});
