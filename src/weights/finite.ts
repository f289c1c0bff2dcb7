// The numerics guard for weights: one pass over every float, so a checkpoint
// holding NaN or infinity (a diverged run, a corrupt download that still passes
// its CRC, a hostile file) is refused at load instead of producing a confident
// label from garbage. Float32 scanning is ~1 ns/element: a few ms for Vim-Ti.
import { NumericsError } from '../errors.js';
import type { StateDict } from '../tensor.js';

/** Index of the first NaN or ±Infinity in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    // x - x is 0 for every finite x and NaN for NaN and ±Infinity.
    if (data[i] - data[i] !== 0) return i;
  }
  return -1;
}

/** Index of the first binary16 NaN or ±Infinity (all exponent bits set) in `bits`, or -1. */
export function firstNonFiniteHalf(bits: Uint16Array): number {
  for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7c00) === 0x7c00) return i;
  return -1;
}

/** The error for element `index` of tensor `name`, whose value is `value`. */
export function nonFiniteTensor(file: string, name: string, value: number, index: number): NumericsError {
  return new NumericsError(file, `tensor '${name}' holds ${value} at element ${index}; ` +
    'the checkpoint is corrupt or its training diverged, so it cannot give meaningful predictions');
}

/** Throws a NumericsError naming the first tensor (and element) that is not finite. */
export function validateFinite(stateDict: StateDict, file = 'weights'): void {
  for (const [name, t] of stateDict) {
    const i = firstNonFinite(t.data);
    if (i >= 0) throw nonFiniteTensor(file, name, t.data[i], i);
  }
}
