// The sample app of e2e/bundlers.spec.ts, bundled by webpack 5 (production) and
// by esbuild (minified) against the packed tarball: classifies a photo with the
// bundled model in the package's worker, then collects what the test checks
// about errors in a minified bundle (every class in the page; errors raised in
// the worker and re-created here; a worker script that does not load).
import * as vim from 'vim-webgpu';
import { describeError, describeSamples, renamedClasses } from './error-samples.js';

/** The error a call rejects with, described, and how long it took to come; or 'resolved'. */
async function failure(make) {
  const t0 = performance.now();
  try {
    const made = await make();
    await made?.dispose?.();
    return 'resolved';
  } catch (e) {
    return { ...describeError(vim, e), ms: Math.round(performance.now() - t0) };
  }
}

/** `options`: what this bundler needs to find the worker and the model (none for webpack). */
export async function run(options, { defaultWorkerMissing = false } = {}) {
  const here = (path) => new URL(path, location.href).href;
  const classifier = await vim.createClassifier(options);
  const top = await classifier.classify(await (await fetch(here('../chelsea.png'))).blob(), { topK: 3 });
  const info = classifier.info();
  await classifier.dispose();

  const worker = { ...options, worker: true };
  const abort = new AbortController();
  const errors = {
    page: describeSamples(vim),
    renamed: renamedClasses(vim),
    // Raised in the worker, sent over the wire, re-created on this side.
    fetch: await failure(() => vim.createClassifier({ ...worker, weights: here('missing.safetensors') })),
    format: await failure(() => vim.createClassifier({ ...worker, weights: new Uint8Array(4096) })),
    // Aborted while the worker downloads (slowly, so the load is still under way).
    abort: await failure(() => vim.createClassifier({ ...worker, weights: here('../slow/model.safetensors'), signal: abort.signal, onProgress: () => abort.abort() })),
    // A worker script that is not there: a typed error at once, not after the 20 s guard.
    badWorkerUrl: await failure(() => vim.createClassifier({ ...options, workerUrl: here('no-such-worker.js') })),
  };
  // What an esbuild app gets without `workerUrl`: the package's own `./worker.js` URL, which esbuild did not emit.
  if (defaultWorkerMissing) errors.defaultWorker = await failure(() => vim.createClassifier({ weights: options.weights, worker: true }));
  return { top, info, errors };
}

export function start(options, extra) {
  run(options, extra).then((r) => { window.result = r; }, (e) => { window.result = { error: String(e?.stack ?? e) }; });
}
