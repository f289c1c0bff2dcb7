// The float64 reference on the `tiny` case (2 layers, width 32, weights from
// tiny.pth): every stored intermediate, including both scan directions of block 0,
// within atol = rtol = 1e-4 (the README's budget for tiny, where some bugs move the
// logits by only ~2e-3).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { referenceForward } from '../src/reference/vim.js';
import { bufferSource, loadVimWeights } from '../src/weights/index.js';
import { fixturePath, readBin, readManifest } from './fixtures.js';
import { captureStore, errorLog, tokenMajor } from './reference-support.js';

async function tinyWeights() {
  return loadVimWeights(bufferSource('tiny.pth', new Uint8Array(readFileSync(fixturePath('tiny.pth')))));
}

describe('reference forward, tiny', () => {
  it('matches logits, features and every intermediate; batch of 2', async () => {
    const { config, tensors } = await tinyWeights();
    const c = readManifest().cases.tiny;
    expect(config.posRows).toBe(c.seq_len);
    const L = c.seq_len, E = c.d_inner, N = c.d_state;
    const { map, capture } = captureStore();
    const out = referenceForward(tensors, config, readBin('tiny_input.bin'), 1, 64, 64, { capture, captureLayers: [0] });
    const log = errorLog();
    log.check('logits', out.logits, readBin('tiny_logits.bin'));
    log.check('features', out.features, readBin('tiny_features.bin'));
    log.check('patch_embed', map.get('patch_embed')!, readBin('tiny_patch_embed.bin'));
    log.check('tokens', map.get('tokens')!, readBin('tiny_tokens.bin'));
    for (const i of [0, 1]) {
      for (const name of ['mixer_in', 'hidden', 'residual']) {
        log.check(`block${i} ${name}`, map.get(`${name}@${i}`)!, readBin(`tiny_block${i}_${name}.bin`));
      }
    }
    // Fixture layout inside the mixer: channel-major (1, C, L); backward tensors in
    // the flipped token order the official code scans in.
    for (const dir of ['fwd', 'bwd'] as const) {
      for (const name of ['x', 'z', 'conv_silu', 'dt_raw', 'delta', 'scan_out', 'B', 'C']) {
        const channels = name === 'B' || name === 'C' ? N : E;
        const expected = tokenMajor(readBin(`tiny_block0_${dir}_${name}.bin`), channels, L, dir === 'bwd');
        log.check(`block0 ${dir}_${name}`, map.get(`${dir}_${name}@0`)!, expected);
      }
    }
    log.check('final_norm', map.get('final_norm')!, readBin('tiny_final_norm.bin'));

    const batch = referenceForward(tensors, config, readBin('tiny_batch2_input.bin'), 2, 64, 64);
    log.check('batch2 logits', batch.logits, readBin('tiny_batch2_logits.bin'));
    log.print('tiny');
  });
});
