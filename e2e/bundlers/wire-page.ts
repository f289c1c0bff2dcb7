// The page side of e2e/minified-errors.spec.ts: the whole package entry
// (src/index.ts) bundled and minified, its classes checked here, and every
// class thrown in a separately minified worker (wire-worker.ts) checked here
// after the wire format re-created it.
import { wrap } from 'comlink';
import * as vim from '../../src/index.js';
import { installErrorTransfer } from '../../src/worker/wire-errors.js';
import { ERROR_CLASSES, describeError, describeSamples, renamedClasses, type ErrorDescription } from './error-samples.js';
import type { WireWorker } from './wire-worker.js';

const E = vim as unknown as Record<string, unknown>;

async function main() {
  installErrorTransfer();
  const remote = wrap<WireWorker>(new Worker(new URL('./wire-worker.js', import.meta.url), { type: 'module' }));
  const thrown: Record<string, ErrorDescription | string> = {};
  const rejected: Record<string, ErrorDescription | string> = {};
  for (const c of ERROR_CLASSES) {
    thrown[c] = await remote.throwSample(c).then(() => 'did not throw', (e: Error) => describeError(E, e));
    rejected[c] = await remote.rejectSample(c).then(() => 'did not reject', (e: Error) => describeError(E, e));
  }
  return { page: describeSamples(E), thrown, rejected, renamed: { page: renamedClasses(E), worker: await remote.renamed() } };
}

main().then((r) => { (window as unknown as { result: unknown }).result = r; },
  (e) => { (window as unknown as { result: unknown }).result = { error: String((e as Error)?.stack ?? e) }; });
