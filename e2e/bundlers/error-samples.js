// One instance of every public error class, and a plain-data description of an
// error (its name, the classes it is an instance of, its message and own fields).
// Plain JavaScript with no imports, so that the bundler e2e (e2e/bundlers.spec.ts)
// can copy it into the sample apps and bundle it with webpack or esbuild as is,
// and test/errors-names.test.ts can run it against the sources in Node.
// `E` is the module holding the classes: `import * as E from 'vim-webgpu'`.

/** Every error class the package exports, base class first. */
export const ERROR_CLASSES = [
  'VimError', 'WeightFormatError', 'UnsafePickleError', 'UnsupportedDtypeError', 'IntegrityError', 'ModelShapeError',
  'InputError', 'GpuUnavailableError', 'LimitExceededError', 'DeviceLostError', 'NumericsError', 'DisposedError',
  'WeightFetchError', 'LoadAbortedError', 'OutOfMemoryError', 'WorkerUnavailableError', 'AbortError',
];

/** One instance of each class in ERROR_CLASSES, by class name. */
export function sampleErrors(E) {
  return {
    VimError: new E.VimError('something failed'),
    WeightFormatError: new E.WeightFormatError('model.pth', 'zip: bad central directory'),
    UnsafePickleError: new E.UnsafePickleError('model.pth', 'os.system'),
    UnsupportedDtypeError: new E.UnsupportedDtypeError('model.safetensors', 'head.weight', 'F8_E4M3'),
    IntegrityError: new E.IntegrityError('model.safetensors', 'the file', 'aa'.repeat(32), 'bb'.repeat(32)),
    ModelShapeError: new E.ModelShapeError('model.pth', 'head.weight', 'expected [10, 192], found [10, 96]'),
    InputError: new E.InputError('image', 'a 0×0 image'),
    GpuUnavailableError: new E.GpuUnavailableError('no WebGPU adapter'),
    LimitExceededError: new E.LimitExceededError('maxStorageBufferBindingSize', 2048, 1024, 'use a smaller batch'),
    DeviceLostError: new E.DeviceLostError('the GPU device was lost'),
    NumericsError: new E.NumericsError('logits', 'NaN at index 3'),
    DisposedError: new E.DisposedError('the classifier was disposed'),
    WeightFetchError: new E.WeightFetchError('https://example.com/model.pth', 404, 'HTTP 404 Not Found'),
    LoadAbortedError: new E.LoadAbortedError('model.pth'),
    OutOfMemoryError: new E.OutOfMemoryError('weights', 3 * 2 ** 20, 'allocation failed'),
    WorkerUnavailableError: new E.WorkerUnavailableError('the worker script failed to load'),
    AbortError: new E.AbortError('user cancelled'),
  };
}

/** What a test compares: identical for the sources in Node and any correct bundle, minified or not. */
export function describeError(E, e) {
  const fields = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
  }
  return {
    name: e.name,
    string: String(e),
    message: e.message,
    instanceOf: ['Error', ...ERROR_CLASSES].filter((c) => typeof (c === 'Error' ? Error : E[c]) === 'function' && e instanceof (c === 'Error' ? Error : E[c])),
    fields,
  };
}

/** Descriptions of sampleErrors(E), by class name. */
export function describeSamples(E) {
  return Object.fromEntries(Object.entries(sampleErrors(E)).map(([c, e]) => [c, describeError(E, e)]));
}

/** The classes whose own function name the minifier changed (proves the bundle was minified). */
export function renamedClasses(E) {
  return ERROR_CLASSES.filter((c) => typeof E[c] === 'function' && E[c].name !== c);
}
