// The float64 reference against the official outputs: logits, features and every
// stored intermediate of the 224 Vim-Ti and Vim-S cases (procedural weights),
// within atol = rtol = 1e-4, plus the manifest's top-5.
import { describe, expect, it } from 'vitest';
import { proceduralConfig, proceduralWeights } from '../src/model/procedural.js';
import { referenceForward } from '../src/reference/vim.js';
import { readBin, readManifest } from './fixtures.js';
import { captureStore, errorLog, topK } from './reference-support.js';

function proceduralCase(name: string) {
  const c = readManifest().cases[name];
  const cfg = proceduralConfig(c.embed_dim, c.seq_len, c.depth);
  return { c, cfg, weights: proceduralWeights(cfg, c.procedural!.seed) };
}

describe('reference forward, 224 procedural cases', () => {
  it('vim_ti_224: logits, features, patch embed, tokens, all 24 residuals and hiddens, final norm', () => {
    const { c, cfg, weights } = proceduralCase('vim_ti_224');
    const { map, capture } = captureStore();
    const out = referenceForward(weights, cfg, readBin('vim_input_224.bin'), 1, 224, 224, { capture });
    const log = errorLog();
    log.check('logits', out.logits, readBin('vim_ti_224_logits.bin'));
    log.check('features', out.features, readBin('vim_ti_224_features.bin'));
    log.check('patch_embed', map.get('patch_embed')!, readBin('vim_ti_224_patch_embed.bin'));
    log.check('tokens', map.get('tokens')!, readBin('vim_ti_224_tokens.bin'));
    const slice = c.seq_len * c.embed_dim;
    const residuals = readBin('vim_ti_224_residuals.bin');
    const hiddens = readBin('vim_ti_224_hiddens.bin');
    for (let i = 0; i < c.depth; i++) {
      const at = (a: Float32Array) => a.subarray(i * slice, (i + 1) * slice);
      log.check(`residual@${i}`, map.get(`residual@${i}`)!, at(residuals));
      log.check(`hidden@${i}`, map.get(`hidden@${i}`)!, at(hiddens));
    }
    log.check('final_norm', map.get('final_norm')!, readBin('vim_ti_224_final_norm.bin'));
    log.print('vim_ti_224');
    expect(topK(out.logits, 5)).toEqual(c.top5);
  });

  it('vim_s_224: logits, features, final norm, residual and hidden of blocks 0, 11, 23', () => {
    const { c, cfg, weights } = proceduralCase('vim_s_224');
    const { map, capture } = captureStore();
    const out = referenceForward(weights, cfg, readBin('vim_input_224.bin'), 1, 224, 224, { capture });
    const log = errorLog();
    log.check('logits', out.logits, readBin('vim_s_224_logits.bin'));
    log.check('features', out.features, readBin('vim_s_224_features.bin'));
    for (const i of [0, 11, 23]) {
      log.check(`residual@${i}`, map.get(`residual@${i}`)!, readBin(`vim_s_224_block${i}_residual.bin`));
      log.check(`hidden@${i}`, map.get(`hidden@${i}`)!, readBin(`vim_s_224_block${i}_hidden.bin`));
    }
    log.check('final_norm', map.get('final_norm')!, readBin('vim_s_224_final_norm.bin'));
    log.print('vim_s_224');
    expect(topK(out.logits, 5)).toEqual(c.top5);
  });
});
