// The worker path's own behaviour in Node (what test/api-paths.test.ts does not
// cover): the protocol between createWorkerEngine's RemoteEngine and the
// worker's EngineHandler over a MessageChannel (test/worker-channel.ts). Checked:
// a call before any load, calls made during a load wait for it, a load that
// replaces the model, typed errors across the boundary with nothing leaked,
// abort, a device lost inside the worker followed by a transparent restore, a
// worker that never answers, dispose.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { compare, fixturePath, readBin } from './fixtures.js';
import { tinyFile } from './stream-helpers.js';
import { channelWorker, type ChannelWorker } from './worker-channel.js';
import { createWorkerEngine } from '../src/worker/client.js';
import type { LoadRequest } from '../src/engine/engine.js';
import { AbortError, DeviceLostError, DisposedError, InputError, IntegrityError, WeightFormatError, WorkerUnavailableError, type LoadProgress } from '../src/index.js';
import { rejection } from './api-support.js';

let w: ChannelWorker;
beforeAll(async () => { w = await channelWorker(); });
afterAll(async () => {
  await w.engine.dispose().catch(() => undefined);
  w.close();
});

const input = readBin('tiny_input.bin'), expected = readBin('tiny_logits.bin');
const request = (weights: LoadRequest['weights'], over: Partial<LoadRequest> = {}): LoadRequest =>
  ({ weights, dtype: 'f32', interpolation: 'official', maxBatch: 8, cache: false, ...over });

describe('worker engine over comlink', () => {
  test('infer before any load: InputError, typed on this side', async () => {
    await rejection(w.engine.infer([input]), InputError);
  });

  test('load with progress; an infer issued during the load waits for it', async () => {
    const events: LoadProgress[] = [];
    const file = await tinyFile('f32');
    const loading = w.engine.load(request(file, { onProgress: (p) => events.push(p) }));
    const early = w.engine.infer([input]);   // waits for the load
    const info = await loading;
    const { logits } = await early;
    expect(compare(logits, expected, 1e-4, 0).ok).toBe(true);
    expect(info).toMatchObject({ dtype: 'f32', size: 64, stride: 16, grid: [4, 4], source: { fromCache: false, converted: false, fileBytes: file.length } });
    await new Promise((r) => setTimeout(r, 20));  // progress calls are asynchronous messages
    expect(events.at(-1)).toMatchObject({ phase: 'ready', progress: 1 });
    for (let i = 1; i < events.length; i++) expect(events[i].progress).toBeGreaterThanOrEqual(events[i - 1].progress);
    // The caller's buffer is copied, not taken: it is still intact.
    expect(file.length).toBeGreaterThan(0);
  });

  test('a .pth converted in the worker replaces the model; typed errors and no leaks on failures', async () => {
    const pth = new Uint8Array(readFileSync(fixturePath('tiny.pth')));
    const info = await w.engine.load(request(pth, { dtype: 'int8' }));
    expect([info.source.converted, info.dtype]).toEqual([true, 'int8']);
    const live = (await w.engine.info()).buffers;
    const bad = (await tinyFile('f16')).slice();
    bad[bad.length - 3] ^= 1;
    const err = await w.engine.load(request(bad)).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err).toBeInstanceOf(WeightFormatError);
    expect(err.message).toMatch(/corrupt/);
    // The failed load left nothing behind and the previous model still runs.
    expect((await w.engine.info()).buffers).toBe(live);
    const { logits } = await w.engine.infer([input]);
    expect(compare(logits, expected, 3e-2, 0).ok).toBe(true);
  });

  test('abort through an AbortSignal: AbortError, nothing left behind', async () => {
    const live = (await w.engine.info()).buffers;
    const ctl = new AbortController();
    const p = w.engine.load(request(await tinyFile('f32'), { signal: ctl.signal }));
    ctl.abort();
    await rejection(p, AbortError);
    const already = new AbortController();
    already.abort();
    await rejection(w.engine.load(request(await tinyFile('f32'), { signal: already.signal })), AbortError);
    await new Promise((r) => setTimeout(r, 50)); // the worker's side of the aborted load winds down
    expect((await w.engine.info()).buffers).toBe(live);
  });

  test('device lost in the worker: the call in flight gets DeviceLostError, the next call restores and succeeds', async () => {
    await w.engine.load(request(await tinyFile('f32')));
    // Destroy the worker's device right after the call's forward pass is submitted, before its readback.
    const { device } = (w.inner as unknown as { live: { ctx: { device: GPUDevice } } }).live.ctx;
    const queue = device.queue, submit = queue.submit.bind(queue);
    queue.submit = (buffers) => {
      submit(buffers);
      queue.submit = submit;
      device.destroy();
    };
    await rejection(w.engine.infer([input]), DeviceLostError);
    const { logits } = await w.engine.infer([input]);
    expect(compare(logits, expected, 1e-4, 0).ok).toBe(true);
  });

  test('dispose frees the device; later calls are DisposedError', async () => {
    await w.engine.remote.dispose();
    await rejection(w.engine.infer([input]), DisposedError);
  });
});

test('a worker that never answers (script blocked or missing) fails fast with WorkerUnavailableError', async () => {
  const channel = new MessageChannel(); // nothing listens on port1
  const engine = createWorkerEngine({ endpoint: channel.port2 as never, startMs: 300 });
  try {
    const e = await rejection(engine.load(request(await tinyFile('f32'))), WorkerUnavailableError);
    expect(e.message).toMatch(/worker: false/);
  } finally {
    channel.port1.close();
    channel.port2.close();
  }
});
