// The worker side of e2e/minified-errors.spec.ts: the engine's error modules and
// wire format (src/worker/wire-errors.ts), as the package's own worker installs
// them, bundled and minified on their own; throws any sample error on request.
import { expose } from 'comlink';
import * as engineErrors from '../../src/errors.js';
import * as apiErrors from '../../src/api/errors.js';
import { installErrorTransfer } from '../../src/worker/wire-errors.js';
import { renamedClasses, sampleErrors } from './error-samples.js';

installErrorTransfer();
const E = { ...engineErrors, ...apiErrors } as unknown as Record<string, unknown>;

const api = {
  /** Classes whose function name the minifier changed in this bundle. */
  renamed: () => renamedClasses(E),
  throwSample(name: string): void {
    throw sampleErrors(E)[name];
  },
  async rejectSample(name: string): Promise<void> {
    await Promise.resolve();
    throw sampleErrors(E)[name];
  },
};
export type WireWorker = typeof api;
expose(api);
