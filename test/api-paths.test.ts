// The public API suite (test/api-suite/cases.ts) in Node on both engine paths:
// WebGPU in this thread (createClassifier's default in Node), and the worker
// path — the page-side RemoteEngine and the worker-side EngineHandler joined
// over a MessageChannel (test/worker-channel.ts). Chromium runs the same cases
// in a page and in a real Worker (e2e/api-paths.spec.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { createClassifier } from '../src/index.js';
import { classifierOn } from '../src/api/classifier.js';
import { API_CASES, type EnginePath, type SuiteEnv } from './api-suite/cases.js';
import { channelWorker } from './worker-channel.js';

const TEST_DIR = new URL('.', import.meta.url).pathname;

function env(path: EnginePath): SuiteEnv {
  return {
    path,
    timestamps: true, // Dawn on lavapipe and SwiftShader offers timestamp-query (test/timing.test.ts checks)
    file: async (p) => new Uint8Array(readFileSync(join(TEST_DIR, p))),
    async create(options = {}) {
      if (path === 'thread') return createClassifier(options);
      const w = await channelWorker();
      try {
        const c = await classifierOn(w.engine, options);
        const dispose = c.dispose.bind(c);
        c.dispose = () => dispose().finally(w.close);
        return c;
      } catch (e) {
        w.close();
        throw e;
      }
    },
  };
}

for (const path of ['thread', 'worker'] as const) {
  describe(`API on the ${path} path`, () => {
    const e = env(path);
    for (const c of API_CASES) test(c.name, () => c.run(e), 120_000);
  });
}
