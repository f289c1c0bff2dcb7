// Every accepted image input → an EngineImage, where the engine runs (in the
// worker, when it runs there: files are decoded off the page's thread). Type
// checks go through `typeof X !== 'undefined'` first: Node has none of the DOM
// image classes, and a worker has only some.
import { InputError } from '../errors.js';
import { throwIfAborted } from '../api/errors.js';
import { checkFiniteInput } from '../model/numerics.js';
import { checkImageSize, decodeImage } from '../image/decode.js';
import { hasJpegSignature } from '../image/jpeg-info.js';
import { hasPngSignature } from '../image/png-info.js';
import type { PixelSource } from '../ops/preprocess.js';
import { localFilePath, openLocalFile } from '../platform/node.js';
import type { ImageInput, RawPixels } from '../api/types.js';

/**
 * One image as an engine runs it: a preprocessed (3, s, s) tensor, or stored
 * pixels that the engine preprocesses with the official eval transform.
 */
export type EngineImage = { kind: 'tensor'; data: Float32Array } | PixelSource;

/** An EngineImage plus what to release once the call is done (an ImageBitmap we created). */
export interface PreparedImage {
  image: EngineImage;
  release(): void;
}

const nothing = () => {};

function defined(name: string): unknown {
  return (globalThis as Record<string, unknown>)[name];
}

function isA(value: unknown, className: string): boolean {
  const cls = defined(className);
  return typeof cls === 'function' && value instanceof (cls as new () => unknown);
}

function isRawPixels(v: unknown): v is RawPixels {
  const p = v as RawPixels;
  return typeof v === 'object' && v !== null && (p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray) &&
    typeof p.width === 'number' && typeof p.height === 'number';
}

function checkSize(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(what, `image size must be positive integers, got ${width}x${height}`);
  }
  checkImageSize(width, height, what);
}

function rawPixels(p: RawPixels): EngineImage {
  checkSize(p.width, p.height, 'pixels');
  const channels = p.channels ?? p.data.length / (p.width * p.height);
  if (![1, 2, 3, 4].includes(channels)) {
    throw new InputError('pixels', `${p.data.length} bytes is not 1, 2, 3 or 4 bytes per pixel of a ${p.width}x${p.height} image`);
  }
  if (p.data.length < p.width * p.height * channels) {
    throw new InputError('pixels', `a ${p.width}x${p.height} image with ${channels} channels needs ${p.width * p.height * channels} bytes, got ${p.data.length}`);
  }
  return { kind: 'bytes', data: p.data, width: p.width, height: p.height, channels: channels as 1 | 2 | 3 | 4 };
}

/**
 * Size of a source copyExternalImageToTexture takes, or undefined when `v` is
 * none; an element with no pixels yet (or whose load failed) is an InputError.
 */
export function externalSize(v: unknown): [number, number] | undefined {
  if (isA(v, 'HTMLImageElement')) {
    const img = v as HTMLImageElement;
    if (!img.complete) throw new InputError('image', '<img> is not loaded yet (await img.decode() first)');
    // complete with no pixels: the load failed (a missing file, an unsupported or corrupt image).
    if (img.naturalWidth === 0) throw new InputError(img.currentSrc || img.src || 'image', '<img> failed to load: a broken URL or an image the browser cannot decode');
    return [img.naturalWidth, img.naturalHeight];
  }
  if (isA(v, 'HTMLVideoElement')) {
    const video = v as HTMLVideoElement;
    if (video.videoWidth === 0) throw new InputError('video', '<video> has no frame yet (wait for loadeddata)');
    return [video.videoWidth, video.videoHeight];
  }
  if (isA(v, 'ImageBitmap') || isA(v, 'HTMLCanvasElement') || isA(v, 'OffscreenCanvas')) {
    const c = v as ImageBitmap;
    return [c.width, c.height];
  }
  return undefined;
}

async function fromBlob(blob: Blob, name = (blob as { name?: string }).name || 'blob'): Promise<PreparedImage> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (hasPngSignature(bytes) || hasJpegSignature(bytes)) {
    // Our decoders are PIL-exact and report EXIF orientation, which the GPU applies.
    const img = decodeImage(bytes, name);
    return { image: { kind: 'bytes', data: img.data, width: img.width, height: img.height, channels: 3, orientation: img.orientation }, release: nothing };
  }
  if (typeof createImageBitmap !== 'function') throw new InputError(name, 'unrecognised image format (only PNG and JPEG can be decoded here)');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    throw new InputError(name, `the browser cannot decode this image: ${(e as Error).message}`);
  }
  return { image: { kind: 'external', source: bitmap, width: bitmap.width, height: bitmap.height }, release: () => bitmap.close() };
}

/**
 * copyExternalImageToTexture does not take every VideoFrame (Chromium on a
 * software adapter refuses them), while createImageBitmap does: go through a bitmap.
 */
async function fromVideoFrame(frame: VideoFrame): Promise<PreparedImage> {
  checkSize(frame.displayWidth, frame.displayHeight, 'video frame');
  const bitmap = await createImageBitmap(frame, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  return { image: { kind: 'external', source: bitmap, width: bitmap.width, height: bitmap.height }, release: () => bitmap.close() };
}

/**
 * `size`: the classifier's input side, which a preprocessed Float32Array must match;
 * `index`: the image's place in its batch, for errors.
 */
export async function prepareImage(input: ImageInput, size: number, index = 0): Promise<PreparedImage> {
  const path = await localFilePath(input);
  if (path !== undefined) return fromBlob(await openLocalFile(path, (detail) => new InputError(path, `cannot read the image file: ${detail}`)), path);
  if (input instanceof Float32Array) {
    if (input.length !== 3 * size * size) {
      throw new InputError('tensor', `a preprocessed image must hold 3x${size}x${size} = ${3 * size * size} floats, got ${input.length}`);
    }
    // Only tensors can hold NaN or infinity: pixels are bytes.
    checkFiniteInput(input, size, size, index);
    return { image: { kind: 'tensor', data: input }, release: nothing };
  }
  if (isA(input, 'Blob')) return fromBlob(input as Blob);
  if (isA(input, 'VideoFrame')) return fromVideoFrame(input as VideoFrame);
  if (isRawPixels(input)) return { image: rawPixels(input), release: nothing }; // also ImageData
  const wh = externalSize(input);
  if (wh) {
    checkSize(wh[0], wh[1], 'image');
    return { image: { kind: 'external', source: input as GPUCopyExternalImageSource, width: wh[0], height: wh[1] }, release: nothing };
  }
  const what = input === null ? 'null' : typeof input === 'object' ? (input as object).constructor?.name ?? 'object' : typeof input;
  throw new InputError('image', `unsupported input (${what}): pass an image element, canvas, ImageBitmap, ImageData, VideoFrame, Blob/File, {data, width, height} pixels, a preprocessed Float32Array or, in Node, a file path`);
}

/** A batch prepared whole: if any image fails (or `signal` fires), what was made is released and the call rejects. */
export async function prepareImages(images: readonly ImageInput[], size: number, signal?: AbortSignal): Promise<PreparedImage[]> {
  const settled = await Promise.allSettled(images.map((img, i) => prepareImage(img, size, i)));
  const prepared = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed || signal?.aborted) {
    prepared.forEach((p) => p.release());
    if (failed) throw (failed as PromiseRejectedResult).reason;
    throwIfAborted(signal);
  }
  return prepared;
}
