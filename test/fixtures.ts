// Access to the official reference fixtures copied into test/fixtures/vim.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'vim');
export const PHOTOS = join(dirname(fileURLToPath(import.meta.url)), 'photos');

export function fixturePath(name: string): string {
  return join(FIXTURES, name);
}

/** A raw little-endian float32 .bin fixture. */
export function readBin(name: string): Float32Array {
  const buf = readFileSync(fixturePath(name));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export interface ManifestCase {
  img_size: number; patch_size: number; stride: number; num_patches: number; seq_len: number;
  cls_token_index: number; depth: number; embed_dim: number; d_inner: number; d_state: number;
  d_conv: number; dt_rank: number; num_classes: number;
  files: Record<string, { shape: number[]; sha256: string; layout?: string }>;
  procedural?: { seed: number; tensors: Array<{ index: number; name: string; shape: number[]; sha256: string; first4: number[]; sum: number }>; tensors_from?: string };
  top5?: number[];
}

let manifest: { cases: Record<string, ManifestCase>; interpolation?: unknown } | undefined;
export function readManifest(): { cases: Record<string, ManifestCase>; interpolation?: unknown } {
  manifest ??= JSON.parse(readFileSync(fixturePath('manifest.json'), 'utf8'));
  return manifest!;
}

/** max |a - b| and whether allclose(a, b, atol, rtol) holds (numpy semantics, b = reference). */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number) {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let maxAbs = 0, worst = -1, ok = true;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) ok = false;
    if (!(d <= maxAbs)) { maxAbs = d; worst = i; }
  }
  return { maxAbs, worst, ok };
}
