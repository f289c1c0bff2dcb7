// The public API suite (test/api-suite/cases.ts) in Chromium on both engine
// paths: the worker path (the default in a page: the engine in a real module
// Worker, WebGPU there) and the thread path (worker: false, WebGPU in the page).
// Node runs the same cases (test/api-paths.test.ts).
import { expect, test } from './harness-fixture.js';
import { API_CASES } from '../test/api-suite/cases.js';

for (const path of ['worker', 'thread'] as const) {
  test.describe(`API on the ${path} path`, () => {
    for (const c of API_CASES) {
      test(c.name, async ({ harness }) => {
        test.setTimeout(180_000);
        const r = await harness.run('apiCase', path, c.name);
        console.log(`${path}: ${c.name}: ${(r.ms / 1000).toFixed(1)} s`);
        expect(r.error, r.error).toBeUndefined();
      });
    }
  });
}
