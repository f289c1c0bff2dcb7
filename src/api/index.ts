// The public API: createClassifier and its types, errors and defaults.
export { createClassifier } from './classifier.js';
export { OutOfMemoryError, AbortError, WorkerUnavailableError } from './errors.js';
export { DEFAULT_WEIGHTS, DEFAULT_INTERPOLATION, DEFAULT_DTYPE, DEFAULT_TOP_K, DEFAULT_MAX_BATCH } from './defaults.js';
export type {
  Classifier, ClassifierOptions, ClassifyOptions, ClassifierInfo, Prediction, ImageFeatures, ImageInput, RawPixels,
  WeightsInput, WeightsDType, Interpolation, LoadProgress, Backend, AdapterDescription, InferenceTiming,
} from './types.js';
