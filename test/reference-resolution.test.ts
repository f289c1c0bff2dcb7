// The float64 reference on the two other token layouts: patch stride 8 (730
// tokens, the "+"/ft architecture) and a 320 input (401 tokens), each with its
// own procedural position table. atol = rtol = 1e-4 and the manifest's top-5.
import { describe, expect, it } from 'vitest';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { referenceForward } from '../src/reference/vim.js';
import { readBin, readManifest } from './fixtures.js';
import { captureStore, errorLog, topK } from './reference-support.js';

describe('reference forward, other token layouts', () => {
  it('vim_ti_s8_224: stride inferred from the 730-row table; patch embed, features, logits', () => {
    const c = readManifest().cases.vim_ti_s8_224;
    const cfg = proceduralConfig(c.embed_dim, c.seq_len, c.depth);
    const { map, capture } = captureStore();
    const out = referenceForward(proceduralWeights(cfg, c.procedural!.seed), cfg,
      readBin('vim_input_224.bin'), 1, 224, 224, { capture });
    const log = errorLog();
    log.check('patch_embed', map.get('patch_embed')!, readBin('vim_ti_s8_224_patch_embed.bin'));
    log.check('features', out.features, readBin('vim_ti_s8_224_features.bin'));
    log.check('logits', out.logits, readBin('vim_ti_s8_224_logits.bin'));
    log.print('vim_ti_s8_224');
    expect(map.get('tokens')!.length).toBe(730 * c.embed_dim);
    expect(topK(out.logits, 5)).toEqual(c.top5);
  });

  it('vim_ti_320: features, logits', () => {
    const c = readManifest().cases.vim_ti_320;
    const cfg = proceduralConfig(c.embed_dim, c.seq_len, c.depth);
    const out = referenceForward(proceduralWeights(cfg, c.procedural!.seed), cfg,
      readBin('vim_input_320.bin'), 1, 320, 320);
    const log = errorLog();
    log.check('features', out.features, readBin('vim_ti_320_features.bin'));
    log.check('logits', out.logits, readBin('vim_ti_320_logits.bin'));
    log.print('vim_ti_320');
    expect(topK(out.logits, 5)).toEqual(c.top5);
  });
});
