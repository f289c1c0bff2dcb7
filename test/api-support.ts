// Shared inputs for the API tests: the tiny fixture model and images in every
// form Node can hold them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath, PHOTOS } from './fixtures.js';
import { decodeImage } from '../src/image/decode.js';
import { evalTransform } from '../src/image/preprocess.js';
import type { RawPixels } from '../src/api/types.js';

export const TINY_PTH = fixturePath('tiny.pth');
export const tinyWeights = (): Uint8Array => new Uint8Array(readFileSync(TINY_PTH));

export const imageBytes = (name: 'tiny' | 'coffee' | 'rocket'): Uint8Array => new Uint8Array(readFileSync(
  name === 'tiny' ? fixturePath('tiny_image.png') : join(PHOTOS, name === 'coffee' ? 'coffee.png' : 'rocket.jpg')));

export function rawPixels(name: 'tiny' | 'coffee' | 'rocket'): RawPixels {
  const img = decodeImage(imageBytes(name), name);
  return { data: img.data, width: img.width, height: img.height, channels: 3 };
}

export const blob = (name: 'tiny' | 'coffee' | 'rocket'): Blob => new Blob([imageBytes(name) as Uint8Array<ArrayBuffer>]);

export const tensor = (name: 'tiny' | 'coffee' | 'rocket', size: number): Float32Array => evalTransform(decodeImage(imageBytes(name), name), size);

/** Expects a promise to reject with an instance of `cls`; returns the error. */
export async function rejection<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    return e;
  }
  throw new Error(`expected ${cls.name}, but the promise resolved`);
}
