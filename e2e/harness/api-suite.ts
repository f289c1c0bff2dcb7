// Harness function for e2e/api-paths.spec.ts: one case of the API suite
// (test/api-suite/cases.ts) in this page, on the worker path (createClassifier's
// default in a page: the engine in a module Worker) or the thread path (worker: false).
import { createClassifier } from '../../src/index.js';
import { API_CASES, type EnginePath, type SuiteEnv } from '../../test/api-suite/cases.js';

const envs = new Map<EnginePath, SuiteEnv>();

function env(path: EnginePath): SuiteEnv {
  let e = envs.get(path);
  if (!e) {
    e = {
      path,
      timestamps: true, // SwiftShader offers timestamp-query (e2e/model.spec.ts and the timing tests rely on it)
      file: async (p) => new Uint8Array(await (await fetch(`/test/${p}`)).arrayBuffer()),
      create: (options = {}) => createClassifier({ ...options, worker: path === 'worker' }),
    };
    envs.set(path, e);
  }
  return e;
}

export async function apiCase(path: EnginePath, name: string): Promise<{ error?: string; ms: number }> {
  const c = API_CASES.find((x) => x.name === name);
  if (!c) return { error: `no case named '${name}'`, ms: 0 };
  const t0 = performance.now();
  try {
    await c.run(env(path));
    return { ms: performance.now() - t0 };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}`, ms: performance.now() - t0 };
  }
}
