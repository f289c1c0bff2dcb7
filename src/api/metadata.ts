// The metadata of a weight file (safetensors __metadata__: class names, input
// size) read from its header alone. The worker engine loads the weights on its
// side and reports no metadata, so the page reads the header itself: from
// memory for a Blob or bytes, with HTTP Range requests for a URL (a few KB).
// Anything that fails just means "no metadata" (labels fall back to defaults).
import { detectFormat, blobSource, bufferSource, type RandomAccessSource } from '../weights/index.js';
import { readSafetensorsHeader } from '../weights/safetensors.js';
import { isEngineFile, readEngineHeader } from '../weights/format-read.js';
import { httpRangeSource } from '../weights/stream-loader-source.js';

export type SendableWeights = string | URL | Blob | ArrayBuffer | ArrayBufferView;

/** A Range-backed source, if the server answers ranges (the first one also tells the file size). */
async function rangeSource(source: string | URL): Promise<RandomAccessSource | undefined> {
  const url = new URL(String(source), (globalThis as { location?: Location }).location?.href).href;
  const first = await fetch(url, { headers: { Range: 'bytes=0-7' } });
  const size = Number(/\/(\d+)$/.exec(first.headers.get('content-range') ?? '')?.[1]);
  await first.body?.cancel().catch(() => undefined);
  if (first.status !== 206 || !(size > 0)) return undefined;
  return httpRangeSource(url, size);
}

export async function readMetadata(source: SendableWeights): Promise<Record<string, string>> {
  try {
    const src = typeof Blob !== 'undefined' && source instanceof Blob ? blobSource(source)
      : source instanceof ArrayBuffer ? bufferSource('weights', new Uint8Array(source))
        : ArrayBuffer.isView(source) ? bufferSource('weights', new Uint8Array(source.buffer, source.byteOffset, source.byteLength))
          : await rangeSource(source as string | URL);
    if (!src) return {};
    if (await isEngineFile(src)) return (await readEngineHeader(src)).metadata;
    if (await detectFormat(src) === 'safetensors') return (await readSafetensorsHeader(src)).metadata ?? {};
  } catch {
    // No metadata is no error: the weights themselves are the worker's business.
  }
  return {};
}
