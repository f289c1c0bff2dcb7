// The worker engine's protocol in Node: the worker side (WorkerEngineCore, on
// Dawn) and the page side (createWorkerEngine) joined by comlink over a
// MessageChannel, exactly as worker.ts and client.ts join them in a browser
// (the real Worker runs in e2e/worker.spec.ts). Checked: progress through a
// proxied callback, calls queued behind a load, images preprocessed in the
// worker, typed errors across the boundary, abort, dispose.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { expose } from 'comlink';
import { compare, fixturePath, readBin } from './fixtures.js';
import { tinyFile } from './stream-helpers.js';
import { nodeGpu } from '../src/gpu/node.js';
import { WorkerEngineCore } from '../src/worker/engine-core.js';
import { createWorkerEngine, type WorkerEngine } from '../src/worker/client.js';
import { installErrorTransfer } from '../src/worker/wire-errors.js';
import { decodeImage } from '../src/image/decode.js';
import { DisposedError, InputError, IntegrityError, LoadAbortedError, WeightFormatError } from '../src/errors.js';
import type { LoadProgress } from '../src/weights/stream-loader-progress.js';

let engine: WorkerEngine;
let channel: MessageChannel;
beforeAll(async () => {
  installErrorTransfer();
  channel = new MessageChannel();
  expose(new WorkerEngineCore({ gpu: await nodeGpu() }), channel.port1 as never);
  engine = createWorkerEngine({ endpoint: channel.port2 as never });
});
afterAll(async () => {
  await engine.dispose().catch(() => undefined);
  channel.port1.close();
});

const input = readBin('tiny_input.bin'), expected = readBin('tiny_logits.bin');

describe('worker engine over comlink', () => {
  test('infer before any load: InputError, typed on this side', async () => {
    await expect(engine.infer(input, 1, 64, 64)).rejects.toBeInstanceOf(InputError);
  });

  test('load with progress; an infer issued during the load waits for it', async () => {
    const events: LoadProgress[] = [];
    const file = await tinyFile('f32');
    const loading = engine.load(file, { onProgress: (p) => events.push(p), cache: false });
    const early = engine.infer(input, 1, 64, 64);   // queued behind the load
    expect((await engine.status()).loading).toBe(true);
    const info = await loading;
    const logits = await early;
    expect(compare(logits, expected, 1e-4, 0).ok).toBe(true);
    expect(info).toMatchObject({ dtype: 'f32', size: 64, stride: 16, grid: [4, 4], fromCache: false, converted: false, fileBytes: file.length });
    await new Promise((r) => setTimeout(r, 20));  // progress calls are asynchronous messages
    expect(events.at(-1)!.fraction).toBe(1);
    for (let i = 1; i < events.length; i++) expect(events[i].fraction).toBeGreaterThanOrEqual(events[i - 1].fraction);
    // The caller's buffer is copied, not taken: it is still intact.
    expect(file.length).toBeGreaterThan(0);
  });

  test('an image is preprocessed in the worker with the official transform', async () => {
    const rgb = decodeImage(new Uint8Array(readFileSync(fixturePath('tiny_image.png'))), 'tiny_image.png');
    const logits = await engine.inferImage({ data: rgb.data, width: rgb.width, height: rgb.height, channels: 3 });
    const c = compare(logits, expected, 1e-4, 0);
    expect(c.ok, `max |Δ| ${c.maxAbs}`).toBe(true);
  });

  test('features: logits and final-normed tokens with their geometry', async () => {
    const f = await engine.features(input.slice(), 1, 64, 64, { transfer: true });
    expect(f.geometry.tokens).toBe(17);
    expect(f.tokens.length).toBe(17 * 32);
    expect(compare(f.logits, expected, 1e-4, 0).ok).toBe(true);
  });

  test('a .pth converted in the worker replaces the model; typed errors and no leaks on failures', async () => {
    const pth = new Uint8Array(readFileSync(fixturePath('tiny.pth')));
    const info = await engine.load(pth, { dtype: 'int8', cache: false });
    expect([info.converted, info.dtype]).toEqual([true, 'int8']);
    const live = (await engine.status()).gpuBuffers;
    const bad = (await tinyFile('f16')).slice();
    bad[bad.length - 3] ^= 1;
    const err = await engine.load(bad, { cache: false }).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err).toBeInstanceOf(WeightFormatError);
    expect(err.message).toMatch(/corrupt/);
    // The failed load left nothing behind and the previous model still runs.
    expect((await engine.status()).gpuBuffers).toBe(live);
    expect((await engine.status()).model?.dtype).toBe('int8');
    const logits = await engine.infer(input, 1, 64, 64);
    expect(compare(logits, expected, 3e-2, 0).ok).toBe(true);
  });

  test('abort through an AbortSignal', async () => {
    const live = (await engine.status()).gpuBuffers;
    const ctl = new AbortController();
    const p = engine.load(await tinyFile('f32'), { signal: ctl.signal, cache: false });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(LoadAbortedError);
    const already = new AbortController();
    already.abort();
    await expect(engine.load(await tinyFile('f32'), { signal: already.signal })).rejects.toBeInstanceOf(LoadAbortedError);
    expect((await engine.status()).gpuBuffers).toBe(live);
  });

  test('dispose frees the device; later calls are DisposedError', async () => {
    await engine.remote.dispose();
    await expect(engine.infer(input, 1, 64, 64)).rejects.toBeInstanceOf(DisposedError);
  });
});
