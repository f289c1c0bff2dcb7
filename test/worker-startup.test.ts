// The worker's startup in src/worker/client.ts, with a stand-in Worker (Node has
// none): a script that fails to load fires `error` on the Worker, and every call
// then rejects with WorkerUnavailableError at once (not after the adapter's 20 s
// guard); `workerUrl` is the URL started; a Worker constructor that throws is the
// same error; an error event after the worker has answered is no startup failure.
// The real thing runs in Chromium in e2e/bundlers.spec.ts. Fast: no GPU.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createWorkerEngine } from '../src/worker/client.js';
import { WorkerUnavailableError } from '../src/index.js';

class FakeWorker extends EventTarget {
  static made: FakeWorker[] = [];
  static throwOnCreate = false;
  terminated = false;
  posted: unknown[] = [];
  constructor(readonly url: string | URL, readonly options: WorkerOptions) {
    super();
    if (FakeWorker.throwOnCreate) throw new DOMException('blocked by the page\'s Content-Security-Policy', 'SecurityError');
    FakeWorker.made.push(this);
  }
  postMessage(message: unknown) { this.posted.push(message); }
  terminate() { this.terminated = true; }
  /** Answers the last comlink request with `value` (as a worker running comlink would). */
  answer(value: unknown) {
    const { id } = this.posted.at(-1) as { id: string };
    this.dispatchEvent(new MessageEvent('message', { data: { id, type: 'RAW', value } }));
  }
}

const saved = (globalThis as { Worker?: unknown }).Worker;
beforeEach(() => {
  FakeWorker.made = [];
  FakeWorker.throwOnCreate = false;
  (globalThis as { Worker?: unknown }).Worker = FakeWorker;
});
afterEach(() => { (globalThis as { Worker?: unknown }).Worker = saved; });

test('a script that fails to load: calls in flight and later calls reject with WorkerUnavailableError at once', async () => {
  const engine = createWorkerEngine({ workerUrl: '/assets/vim-worker.js' });
  const [worker] = FakeWorker.made;
  expect(String(worker.url)).toBe('/assets/vim-worker.js');
  expect(worker.options).toMatchObject({ type: 'module' });
  const pending = engine.info();
  const t0 = performance.now();
  worker.dispatchEvent(new Event('error')); // what a browser fires for a 404 or a blocked module script
  const e = await pending.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(WorkerUnavailableError);
  expect((e as Error).name).toBe('WorkerUnavailableError');
  expect((e as Error).message).toContain('/assets/vim-worker.js');
  expect((e as Error).message).toContain('workerUrl');
  expect(performance.now() - t0).toBeLessThan(100);
  expect(worker.terminated).toBe(true);
  await expect(engine.infer([new Float32Array(3)])).rejects.toBeInstanceOf(WorkerUnavailableError);
  await expect(engine.dispose()).resolves.toBeUndefined(); // nothing to free, and no wait for an answer
});

test('an error thrown while the module is evaluated carries its message', async () => {
  const engine = createWorkerEngine();
  const pending = engine.listCached();
  // A browser's ErrorEvent (Node has no ErrorEvent class): an error event with a message.
  FakeWorker.made[0].dispatchEvent(Object.assign(new Event('error'), { message: 'SyntaxError: Unexpected token' }));
  await expect(pending).rejects.toThrow(/failed to load: SyntaxError: Unexpected token/);
});

test('a Worker constructor that throws (CSP) is a WorkerUnavailableError too', () => {
  FakeWorker.throwOnCreate = true;
  expect(() => createWorkerEngine()).toThrow(WorkerUnavailableError);
});

test('once the worker has answered, a later error event is no startup failure', async () => {
  const engine = createWorkerEngine();
  const [worker] = FakeWorker.made;
  const first = engine.listCached();
  worker.answer([]);
  await expect(first).resolves.toEqual([]);
  worker.dispatchEvent(new Event('error'));
  const second = engine.deleteCached();
  worker.answer(0);
  await expect(second).resolves.toBe(0);
  expect(worker.terminated).toBe(false);
});
