// The browser side of the Playwright tests: every harness function lives in its own
// module and is exposed on window.harness, where e2e specs call it through
// page.evaluate (see ../harness-fixture.ts). To add one, write e2e/harness/<name>.ts
// and list it below; arguments and results must be JSON-serialisable.
import { adapterInfo } from './adapter-info.js';
import { smoke } from './smoke.js';
import { apiInputs } from './api-inputs.js';
import { apiCase } from './api-suite.js';
import { modelFixture } from './model-fixtures.js';
import { workerClearCache, workerFailure, workerRun } from './worker.js';

const harness = { smoke, adapterInfo, apiInputs, apiCase, modelFixture, workerRun, workerFailure, workerClearCache };

export type Harness = typeof harness;

declare global {
  interface Window {
    harness: Harness;
  }
}

window.harness = harness;
