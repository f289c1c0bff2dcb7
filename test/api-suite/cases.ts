// The public API's tests, written once and run on both engine paths: WebGPU in
// the calling thread and WebGPU inside the Web Worker. Node runs them through
// vitest (test/api-paths.test.ts: in-thread, and the worker over a
// MessageChannel); Chromium runs them in a page (e2e/api-paths.spec.ts: in the
// page, and in a real module Worker). The cases use no test runner and no Node
// module: the environment hands in createClassifier for its path and the fixture files.
//
// Model: the tiny fixture (2 layers, width 32, 64 px, 10 classes; test/fixtures/vim).
// Tolerances, as in the engine's own tests: softmax scores vs the official logits'
// ≤ 1e-5 (f32); features ≤ 1e-4 + 1e-4·|x|; f16 and int8 logits within twice the
// loader's bounds (differences of two logits), int8 cosine ≥ 0.995 (the
// quantizer's target); identical inputs give identical answers.
// (Errors from their modules, not src/index.js: the Playwright side imports this file for the case names.)
import { DisposedError, InputError, NumericsError, WeightFormatError } from '../../src/errors.js';
import { AbortError } from '../../src/api/errors.js';
import type { Classifier, ClassifierOptions, ImageInput, LoadProgress, Prediction, RawPixels } from '../../src/api/types.js';
import { decodeImage } from '../../src/image/decode.js';
import { evalTransform } from '../../src/image/preprocess.js';
import { softmax, topK } from '../../src/model/top-k.js';
import { check, close, cosine, rejects, same } from './check.js';

export type EnginePath = 'thread' | 'worker';

export interface SuiteEnv {
  path: EnginePath;
  /** createClassifier, on this environment's path. */
  create(options?: ClassifierOptions): Promise<Classifier>;
  /** A file under test/ (e.g. 'fixtures/vim/tiny.pth', 'photos/coffee.png'). */
  file(path: string): Promise<Uint8Array>;
  /** Whether this environment's adapter has timestamp-query (Dawn and SwiftShader do). */
  timestamps: boolean;
}

export interface ApiCase {
  name: string;
  run(env: SuiteEnv): Promise<void>;
}

const floats = (bytes: Uint8Array) => new Float32Array(bytes.slice().buffer);
const TINY = 'fixtures/vim/tiny.pth';
const IMAGES = { tiny: 'fixtures/vim/tiny_image.png', coffee: 'photos/coffee.png', rocket: 'photos/rocket.jpg' } as const;
type ImageName = keyof typeof IMAGES;

/** The fixtures each case needs, read once per environment. */
class Fixtures {
  private readonly cache = new Map<string, Promise<Uint8Array>>();
  constructor(private readonly env: SuiteEnv) {}
  file(path: string): Promise<Uint8Array> {
    let p = this.cache.get(path);
    if (!p) this.cache.set(path, p = this.env.file(path));
    return p.then((b) => b.slice()); // a fresh copy each time: a call may transfer what it is given
  }
  weights(): Promise<Uint8Array> { return this.file(TINY); }
  async logits(): Promise<Float32Array> { return floats(await this.file('fixtures/vim/tiny_logits.bin')); }
  async input(): Promise<Float32Array> { return floats(await this.file('fixtures/vim/tiny_input.bin')); }
  async blob(name: ImageName): Promise<Blob> { return new Blob([await this.file(IMAGES[name]) as Uint8Array<ArrayBuffer>]); }
  async pixels(name: ImageName): Promise<RawPixels> {
    const img = decodeImage(await this.file(IMAGES[name]), name);
    return { data: img.data, width: img.width, height: img.height, channels: 3 };
  }
  async tensor(name: ImageName, size: number): Promise<Float32Array> {
    return evalTransform(decodeImage(await this.file(IMAGES[name]), name), size);
  }
}

const fixtures = new WeakMap<SuiteEnv, Fixtures>();
const fx = (env: SuiteEnv) => { let f = fixtures.get(env); if (!f) fixtures.set(env, f = new Fixtures(env)); return f; };

/** Runs `use` on a classifier of the tiny model (plus `options`), disposed after. */
async function withTiny(env: SuiteEnv, options: ClassifierOptions, use: (c: Classifier) => Promise<void>): Promise<void> {
  const c = await env.create({ weights: await fx(env).weights(), ...options });
  try {
    await use(c);
  } finally {
    await c.dispose();
  }
}

export const API_CASES: ApiCase[] = [
  {
    name: 'raw pixels, a PNG Blob (decoded by the engine), a preprocessed tensor: the official top-1 and scores',
    async run(env) {
      const f = fx(env);
      const official = softmax(await f.logits());
      const top1 = topK(official, 1)[0].index;
      await withTiny(env, {}, async (c) => {
        for (const [what, input] of [['pixels', await f.pixels('tiny')], ['Blob', await f.blob('tiny')], ['tensor', await f.tensor('tiny', 64)], ['fixture input', await f.input()]] as const) {
          const r = await c.classify(input, { topK: 10 });
          same(r[0].index, top1, `${what}: top-1`);
          for (const p of r) close([p.score], [official[p.index]], `${what}: score of class ${p.index}`, 1e-5);
        }
      });
    },
  },
  {
    name: 'top-k: default 5, sorted, softmax over all classes, labels of a 10-way head',
    async run(env) {
      const f = fx(env);
      await withTiny(env, {}, async (c) => {
        const r = await c.classify(await f.pixels('tiny'));
        same(r.length, 5, 'default topK');
        same(r[0].label, `class ${r[0].index}`, 'label');
        for (let i = 1; i < r.length; i++) check(r[i].score <= r[i - 1].score, 'sorted best first');
        const all = await c.classify(await f.pixels('tiny'), { topK: 1000 });
        same(all.length, 10, 'topK beyond the classes');
        close([all.reduce((s, p) => s + p.score, 0)], [1], 'scores sum', 1e-6);
      });
    },
  },
  {
    name: 'RGBA pixels equal RGB; gray pixels run',
    async run(env) {
      const rgb = await fx(env).pixels('tiny');
      const n = rgb.width * rgb.height, rgba = new Uint8Array(n * 4), gray = new Uint8Array(n);
      for (let i = 0; i < n; i++) { rgba.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4); rgba[i * 4 + 3] = 255; gray[i] = rgb.data[i * 3]; }
      await withTiny(env, {}, async (c) => {
        same(await c.classify({ data: rgba, width: rgb.width, height: rgb.height }, { topK: 10 }), await c.classify(rgb, { topK: 10 }), 'RGBA vs RGB');
        same((await c.classify({ data: gray, width: rgb.width, height: rgb.height, channels: 1 }, { topK: 10 })).length, 10, 'gray');
      });
    },
  },
  {
    name: 'classifyBatch: one batch of mixed inputs over maxBatch chunks equals one by one',
    async run(env) {
      const f = fx(env);
      const inputs: ImageInput[] = [await f.pixels('tiny'), await f.pixels('coffee'), await f.blob('rocket'), await f.tensor('coffee', 64), await f.pixels('rocket')];
      await withTiny(env, { maxBatch: 2 }, async (c) => {
        const batch = await c.classifyBatch(inputs, { topK: 10 });
        const single: Prediction[][] = [];
        for (const x of inputs) single.push(await c.classify(x, { topK: 10 }));
        same(batch.length, 5, 'one answer per image');
        batch.forEach((r, i) => r.forEach((p, j) => {
          same(p.index, single[i][j].index, `image ${i} rank ${j}`);
          close([p.score], [single[i][j].score], `image ${i} rank ${j} score`, 1e-6);
        }));
        check(new Set(batch.map((r) => r[0].index)).size > 1, 'the images are told apart');
      });
    },
  },
  {
    name: 'features: the class token equals the official features; patches are the final norm without the class row',
    async run(env) {
      const f = fx(env);
      const norm = floats(await f.file('fixtures/vim/tiny_final_norm.bin')); // (17, 32), class token at row 8
      const expected = new Float32Array(16 * 32);
      expected.set(norm.subarray(0, 8 * 32), 0);
      expected.set(norm.subarray(9 * 32), 8 * 32);
      await withTiny(env, {}, async (c) => {
        for (const [what, input] of [['tensor', await f.input()], ['Blob', await f.blob('tiny')]] as const) {
          const r = await c.features(input);
          same([r.grid, r.dim], [[4, 4], 32], `${what}: grid and dim`);
          close(r.cls, floats(await f.file('fixtures/vim/tiny_features.bin')), `${what}: class token`, 1e-4, 1e-4);
          close(r.patches, expected, `${what}: patches`, 1e-4, 1e-4);
        }
      });
    },
  },
  {
    name: 'info: backend, adapter, model, resolution, memory; nothing held after dispose',
    async run(env) {
      const c = await env.create({ weights: await fx(env).weights() });
      const i = c.info();
      same([i.backend, i.dtype, i.resolution, i.stride, i.grid, i.interpolation], ['webgpu', 'f32', 64, 16, [4, 4], null], 'info');
      same([i.config.depth, i.config.embedDim, i.config.numClasses, i.config.posRows], [2, 32, 10, 17], 'config');
      check(i.adapter !== null, 'adapter described');
      check(i.memoryBytes > 180_000, `memoryBytes ${i.memoryBytes} > the ~0.18 MB of float32 weights`);
      await c.dispose();
      same(c.info().memoryBytes, 0, 'memory after dispose');
    },
  },
  {
    name: 'dtype: a checkpoint converted to f16 and to int8 on load',
    async run(env) {
      const f = fx(env);
      const official = await f.logits(), input = await f.input();
      for (const dtype of ['f16', 'int8'] as const) {
        await withTiny(env, { dtype }, async (c) => {
          same(c.info().dtype, dtype, 'info.dtype');
          const scores = await c.classify(input, { topK: 10 });
          // From scores back to logits up to a constant: compare log-probabilities' differences with the official ones.
          const logp = new Float32Array(10);
          for (const p of scores) logp[p.index] = Math.log(p.score);
          const ref = Array.from(official, (v) => v - official[0]), got = Array.from(logp, (v) => v - logp[0]);
          // The loader's bounds on tiny's logits (test/stream-loader.test.ts: f16 1e-3, int8 3e-2), doubled for a difference of two.
          close(got, ref, `${dtype} logits (less logit 0)`, dtype === 'f16' ? 2e-3 : 6e-2);
          if (dtype === 'int8') check(cosine(got, ref) >= 0.995, `int8 cosine ${cosine(got, ref)} ≥ 0.995`);
        });
      }
    },
  },
  {
    name: 'resolution: 96 px with the official table resize; a 64 px tensor is refused',
    async run(env) {
      const f = fx(env);
      await withTiny(env, { resolution: 96, interpolation: 'official' }, async (c) => {
        same([c.info().resolution, c.info().grid, c.info().stride, c.info().interpolation], [96, [6, 6], 16, 'official'], 'info');
        same((await c.classify(await f.tensor('tiny', 96), { topK: 3 })).length, 3, '96 px tensor');
        const pixels = await c.classify(await f.pixels('tiny'), { topK: 10 });
        same(pixels, await c.classify(await f.tensor('tiny', 96), { topK: 10 }), 'pixels preprocessed at 96 = the CPU transform at 96');
        const e = await rejects(c.classify(await f.tensor('tiny', 64)), InputError, '64 px tensor');
        check(/3x96x96/.test(e.message), e.message);
      });
    },
  },
  {
    name: 'timing: lastTiming after classify, classifyBatch and features (gpuMs where the adapter measures)',
    async run(env) {
      const input = await fx(env).input();
      await withTiny(env, { maxBatch: 2 }, async (c) => {
        same(c.lastTiming, undefined, 'before any call');
        for (const call of [() => c.classify(input), () => c.classifyBatch([input, input, input]), () => c.features(input)]) {
          await call();
          const t = c.lastTiming!;
          check(t.wallMs > 0 && Number.isFinite(t.wallMs), `wallMs ${t.wallMs}`);
          if (env.timestamps) check(t.gpuMs !== undefined && t.gpuMs > 0 && Number.isFinite(t.gpuMs), `gpuMs ${t.gpuMs}`);
        }
      });
    },
  },
  {
    name: '100 overlapping classify calls each get their own image\'s answer',
    async run(env) {
      const f = fx(env);
      const inputs = [await f.pixels('tiny'), await f.pixels('coffee'), await f.tensor('rocket', 64), await f.blob('coffee')];
      await withTiny(env, {}, async (c) => {
        const expected: Prediction[][] = [];
        for (const x of inputs) expected.push(await c.classify(x, { topK: 10 }));
        check(new Set(expected.map((r) => r[0].index)).size > 1, 'the check can tell images apart');
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => c.classify(inputs[i % 4], { topK: 10 })));
        results.forEach((r, i) => same(r, expected[i % 4], `call ${i}`));
      });
    },
  },
  {
    name: 'dispose during inference: calls in flight finish, later calls reject with DisposedError',
    async run(env) {
      const f = fx(env);
      const c = await env.create({ weights: await f.weights() });
      const expected = await c.classify(await f.pixels('coffee'));
      const running = Array.from({ length: 8 }, async () => c.classify(await f.pixels('coffee')));
      await new Promise((r) => setTimeout(r, 0)); // the calls have started
      const disposed = c.dispose();
      await rejects(c.classify(await f.pixels('coffee')), DisposedError, 'classify after dispose');
      for (const r of await Promise.all(running)) same(r, expected, 'a call in flight');
      await disposed;
      await rejects(c.features(await f.pixels('coffee')), DisposedError, 'features after dispose');
      await c.dispose(); // idempotent
    },
  },
  {
    name: 'abort: an aborted load is AbortError; a call aborted in flight rejects and the classifier keeps working',
    async run(env) {
      const f = fx(env);
      const ctl = new AbortController();
      ctl.abort();
      const e = await rejects(env.create({ weights: await f.weights(), signal: ctl.signal }), AbortError, 'aborted load');
      same(e.name, 'AbortError', 'name');
      // (Aborting mid-load is test/api-errors.test.ts's: from a worker, the tiny load may finish before the abort message arrives.)
      await withTiny(env, {}, async (c) => {
        const call = new AbortController();
        const p = c.classify(await f.pixels('coffee'), { signal: call.signal });
        call.abort();
        await rejects(p, AbortError, 'aborted call');
        const top1 = topK(await f.logits(), 1)[0].index;
        same((await c.classify(await f.pixels('tiny')))[0].index, top1, 'after the abort');
      });
    },
  },
  {
    name: 'progress: convert, then upload, then ready; monotonic, ending at 1',
    async run(env) {
      const seen: LoadProgress[] = [];
      await withTiny(env, { onProgress: (p) => seen.push({ ...p }) }, async () => undefined);
      await new Promise((r) => setTimeout(r, 20)); // from a worker, progress messages may trail the answer by a tick
      check(seen.length >= 3, `${seen.length} events`);
      const last = seen.at(-1)!;
      same([last.phase, last.progress, last.loadedBytes === last.totalBytes, last.tensorsReady === last.tensorsTotal], ['ready', 1, true, true], 'last event');
      check(last.tensorsTotal > 0 && last.totalBytes > 0, 'counts');
      const order = ['convert', 'upload', 'ready'];
      for (let i = 1; i < seen.length; i++) {
        check(seen[i].progress >= seen[i - 1].progress, `progress at event ${i}`);
        check(order.indexOf(seen[i].phase) >= order.indexOf(seen[i - 1].phase), `phase order at event ${i}`);
      }
      same([...new Set(seen.map((p) => p.phase))], order, 'phases of a converted checkpoint');
    },
  },
  {
    name: 'errors: not a weight file, labels of the wrong length, bad inputs; the classifier stays usable',
    async run(env) {
      const f = fx(env);
      await rejects(env.create({ weights: new TextEncoder().encode('<html>not found</html>') }), WeightFormatError, 'an HTML page as weights');
      await rejects(env.create({ weights: await f.weights(), labels: ['a', 'b'] }), InputError, 'two labels for ten classes');
      await withTiny(env, {}, async (c) => {
        await rejects(c.classify(await f.tensor('tiny', 96)), InputError, 'a tensor of the wrong size');
        await rejects(c.classify({ data: new Uint8Array(10), width: 4, height: 4 }), InputError, '10 bytes as 4x4 pixels');
        await rejects(c.classify({ data: new Uint8Array(0), width: 0, height: 0 }), InputError, 'an empty image');
        await rejects(c.classify({ width: 3 } as never), InputError, 'an unsupported object');
        await rejects(c.classify(new Blob([new Uint8Array([1, 2, 3])])), InputError, 'a Blob that is no image');
        await rejects(c.classify(await f.pixels('tiny'), { topK: 0 }), InputError, 'topK 0');
        const bad = new Float32Array(3 * 64 * 64).fill(NaN);
        const e = await rejects(c.classifyBatch([await f.pixels('tiny'), bad]), NumericsError, 'a NaN tensor fails its batch');
        check(/image 1/.test(e.message), `names the image: ${e.message}`);
        await rejects(c.classifyBatch([await f.pixels('tiny'), await f.tensor('tiny', 32)]), InputError, 'one bad image fails the batch');
        same((await c.classify(await f.pixels('tiny')))[0].index, topK(await f.logits(), 1)[0].index, 'still usable');
      });
    },
  },
];
