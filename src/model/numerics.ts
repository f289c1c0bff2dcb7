// The numerics guard for inputs and outputs, shared by VimGpu and the public API
// (whose engines submit their own work): a NaN pixel spreads to every logit, and
// argmax over NaN or infinite logits is a confident label made of garbage.
import { NumericsError } from '../errors.js';
import { firstNonFinite } from '../weights/finite.js';

/**
 * Throws a NumericsError naming the first non-finite value of (B, 3, H, W)
 * images: its image (counted from `firstImage`), its index within that image's
 * own (3, H, W) tensor, and its channel and pixel.
 */
export function checkFiniteInput(input: Float32Array, height: number, width: number, firstImage = 0): void {
  const bad = firstNonFinite(input);
  if (bad < 0) return;
  const hw = height * width, image = 3 * hw, at = bad % image;
  const c = Math.floor(at / hw), y = Math.floor((at % hw) / width), x = at % width;
  throw new NumericsError('input', `image ${firstImage + Math.floor(bad / image)}, element ${at} (channel ${c}, pixel (${x}, ${y})) ` +
    `is ${input[bad]}; inputs must be finite`);
}

/** NaN or ±Infinity in a model output means its arithmetic broke down: report it, never rank it. */
export function checkFiniteOutput<T extends Float32Array>(values: T, what = 'logits'): T {
  const bad = firstNonFinite(values);
  if (bad >= 0) {
    throw new NumericsError(what, `${what === 'logits' ? 'logit' : 'element'} ${bad} is ${values[bad]}: ` +
      'the forward pass overflowed or the weights are corrupt, so no prediction is made');
  }
  return values;
}
