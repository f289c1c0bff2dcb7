// Defaults of createClassifier, one constant each so that switching one is a
// one-line change with a reason next to it.
import { BUNDLED_MODEL_URL } from '../bundled-model.js';
import type { Interpolation, WeightsInput } from './types.js';

/**
 * The bundled model: the Vim-Ti trained on Imagenette (10 classes, 128 px, int8,
 * weights/README.md). Set to undefined to make `weights` required again.
 */
export const DEFAULT_WEIGHTS: WeightsInput | undefined = BUNDLED_MODEL_URL;

/**
 * Position-table resizing at other resolutions: 'official', the authors' helper.
 * Measured on the bundled model (200 Imagenette val images at 96/160/192/224 px,
 * bench/results/interpolation-accuracy-*.json) the two modes tie within noise
 * (7 images right only with 'official', 4 only with 'corrected'), so the tie goes
 * to reproducing the official code; 'corrected' is one option away.
 */
export const DEFAULT_INTERPOLATION: Interpolation = 'official';

/** Storage of a converted checkpoint's matrices: one default for every engine and the loader (weights/quantize.ts says why). */
export { DEFAULT_DTYPE } from '../weights/quantize.js';

export const DEFAULT_TOP_K = 5;

/**
 * In a page, run the engine in a Web Worker (src/worker) unless `worker: false`:
 * decoding, conversion and GPU submission stay off the main thread.
 */
export const DEFAULT_WORKER_IN_PAGES = true;

/** Batch ceiling for classifyBatch: Vim-Ti at 224 needs about 2.5 MB of activations per image. */
export const DEFAULT_MAX_BATCH = 8;
