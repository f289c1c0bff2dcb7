// Seed models for the weight fuzzers: a complete but minute Vim (2 layers,
// D = 8, 2x2 patches of a 4x4 grid) so that a case costs microseconds, plus
// helpers to store it as .pth specs in any float storage type.
import { floatToBf16, floatToHalf } from '../../../src/weights/dtype.js';
import type { VimConfig } from '../../../src/model/config.js';
import { proceduralWeights } from '../../../src/model/procedural.js';
import type { StateDict } from '../../../src/tensor.js';
import type { PthTensorSpec } from '../../../test/weights-helpers.js';

export const MINI_CONFIG: VimConfig = {
  depth: 2, embedDim: 8, dInner: 16, dState: 2, dConv: 2, dtRank: 1, patchSize: 2,
  numClasses: 3, posRows: 5, normEps: 1e-5,
};

export function miniStateDict(seed = 7): StateDict {
  return proceduralWeights(MINI_CONFIG, seed);
}

export type StorageType = 'FloatStorage' | 'HalfStorage' | 'BFloat16Storage' | 'DoubleStorage';

export function encodeStorage(data: Float32Array, type: StorageType): Uint8Array {
  if (type === 'FloatStorage') return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (type === 'DoubleStorage') return new Uint8Array(Float64Array.from(data).buffer);
  const encode = type === 'HalfStorage' ? floatToHalf : floatToBf16;
  return new Uint8Array(Uint16Array.from(data, (v) => encode(v)).buffer);
}

/** One storage record per tensor, keys '0', '1', ... as torch.save numbers them. */
export function pthSpecs(sd: StateDict, type: StorageType = 'FloatStorage'): PthTensorSpec[] {
  return [...sd].map(([name, t], i) => ({ name, shape: t.shape, record: encodeStorage(t.data, type), storageType: type, key: String(i) }));
}
