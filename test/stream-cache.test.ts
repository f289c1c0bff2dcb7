// The weight cache through the loader, on an in-memory CacheStorage (Node has
// no Cache API; the browser's real one is exercised in e2e/worker.spec.ts):
// a hit costs no request, entries are verified on read, a corrupt entry is
// replaced, a full quota never fails a load, converted .pth files are cached
// per dtype, and listCached/deleteCached see what loads stored.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { testGpu } from './gpu.js';
import { fixturePath } from './fixtures.js';
import { MemoryCaches, fakeFetch, tinyFile } from './stream-helpers.js';
import { releaseGpu, type GpuContext } from '../src/gpu/context.js';
import { destroyWeights } from '../src/model/gpu-weights.js';
import { loadWeights, type LoadWeightsOptions } from '../src/weights/stream-loader.js';
import { DEFAULT_CACHE_NAME, deleteCached, listCached } from '../src/weights/cache.js';
import type { WeightSource } from '../src/weights/stream-loader-open.js';

let ctx: GpuContext;
let caches: MemoryCaches;
beforeAll(async () => { ctx = await testGpu(); });
afterAll(() => releaseGpu(ctx));
beforeEach(() => { caches = new MemoryCaches(); (globalThis as { caches?: unknown }).caches = caches; });
afterEach(() => { delete (globalThis as { caches?: unknown }).caches; vi.restoreAllMocks(); });

async function load(source: WeightSource, o: LoadWeightsOptions) {
  const r = await loadWeights(ctx, source, o);
  destroyWeights(ctx, r.weights);
  return r;
}

const URL_ = 'http://x/tiny-int8.safetensors';

describe('cache', () => {
  test('second load of a URL comes from the cache without a request', async () => {
    const file = await tinyFile('int8');
    const { fetch, log } = fakeFetch({ [URL_]: { bytes: file } });
    const first = await load(URL_, { fetch });
    expect(first.fromCache).toBe(false);
    const sha = createHash('sha256').update(file).digest('hex');
    expect(await listCached()).toEqual([expect.objectContaining({ source: URL_, sha256: sha, bytes: file.length, dtype: 'int8', converted: false })]);
    const second = await load(URL_, { fetch });
    expect(second.fromCache).toBe(true);
    expect(second.sha256).toBe(sha);
    expect(log.requests).toHaveLength(1);
    // A different expected hash is another version: fetched again.
    await expect(load(URL_, { fetch, sha256: '1'.repeat(64) })).rejects.toThrow(/sha256/);
    expect(log.requests).toHaveLength(2);
  });

  test('a corrupt entry is detected on read, dropped and downloaded again', async () => {
    const file = await tinyFile('f16');
    const { fetch, log } = fakeFetch({ [URL_]: { bytes: file } });
    await load(URL_, { fetch });
    const entry = caches.stores.get(DEFAULT_CACHE_NAME)!.get(URL_)!;
    entry.body[entry.body.length - 5] ^= 0xff;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const again = await load(URL_, { fetch });
    expect(again.fromCache).toBe(false);
    expect(warn.mock.calls[0][0]).toMatch(/failed verification/);
    expect(log.requests).toHaveLength(2);
    expect((await load(URL_, { fetch })).fromCache).toBe(true);
  });

  test('a full quota: the load succeeds, a warning, nothing listed', async () => {
    caches.quotaExceeded = true;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { fetch } = fakeFetch({ [URL_]: { bytes: await tinyFile('int8') } });
    expect((await load(URL_, { fetch })).fromCache).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/could not be cached.*memory only/));
    expect(await listCached()).toEqual([]);
  });

  test('a failed load caches nothing', async () => {
    const bad = (await tinyFile('int8')).slice();
    bad[bad.length - 1] ^= 1;
    const { fetch } = fakeFetch({ [URL_]: { bytes: bad } });
    await expect(load(URL_, { fetch })).rejects.toThrow(/corrupt/);
    await new Promise((r) => setTimeout(r, 10));
    expect(caches.stores.get(DEFAULT_CACHE_NAME)!.size).toBe(0);
  });

  test('.pth over a URL: the converted file is cached per dtype', async () => {
    const pth = new Uint8Array(readFileSync(fixturePath('tiny.pth')));
    const { fetch, log } = fakeFetch({ 'http://x/tiny.pth': { bytes: pth, acceptRanges: true } });
    expect((await load('http://x/tiny.pth', { fetch, dtype: 'int8' })).converted).toBe(true);
    const n = log.requests.length;
    const hit = await load('http://x/tiny.pth', { fetch, dtype: 'int8' });
    expect([hit.fromCache, hit.converted]).toEqual([true, true]);
    expect(log.requests).toHaveLength(n);
    expect((await load('http://x/tiny.pth', { fetch, dtype: 'f16' })).fromCache).toBe(false);
    expect((await listCached()).map((c) => c.dtype).sort()).toEqual(['f16', 'int8']);
    expect(await deleteCached('http://x/tiny.pth')).toBe(2);
    expect(await listCached()).toEqual([]);
  });

  test('a dropped File is cached under its cacheKey', async () => {
    const pth = new Blob([readFileSync(fixturePath('tiny.pth'))]);
    const key = 'tiny.pth:185833:1700000000000';
    expect((await load(pth, { cacheKey: key, dtype: 'f16' })).fromCache).toBe(false);
    expect((await load(pth, { cacheKey: key, dtype: 'f16' })).fromCache).toBe(true);
    const file = await tinyFile('int8');
    await load(file, { cacheKey: 'converted-file' });
    expect((await load(new Uint8Array(0), { cacheKey: 'converted-file' })).fromCache).toBe(true);
    expect(await deleteCached()).toBe(2);
  });
});
