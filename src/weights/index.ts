// Entry point for weight files: detect the format from the first bytes, list
// or read the state dict, and derive the Vim configuration from its shapes.
import { WeightFormatError } from '../errors.js';
import { deriveConfig, type VimConfig } from '../model/config.js';
import type { StateDict } from '../tensor.js';
import { openPth, readPthStateDict } from './pth.js';
import { readSafetensors, readSafetensorsHeader } from './safetensors.js';
import { validateFinite } from './finite.js';
import type { RandomAccessSource } from './source.js';
import type { TensorInfo } from './tensor-info.js';

export type { RandomAccessSource } from './source.js';
export { bufferSource, blobSource } from './source.js';
export type { TensorInfo } from './tensor-info.js';
export type { DType } from './dtype.js';
export { writeSafetensors, type SafetensorsEntry } from './safetensors.js';
export { validateFinite, firstNonFinite } from './finite.js';

export type WeightFormat = 'pth' | 'safetensors';

/** Recognizes a .pth (zip) or safetensors file; anything else is a WeightFormatError saying what it looks like. */
export async function detectFormat(src: RandomAccessSource): Promise<WeightFormat> {
  const head = await src.read(0, Math.min(src.size, 64));
  const ascii = String.fromCharCode(...head);
  if (ascii.startsWith('PK\x03\x04') || ascii.startsWith('PK\x05\x06')) return 'pth';
  // safetensors: u64 header length, then the JSON header's opening brace.
  if (head.length >= 9 && head[8] === 0x7b && head[6] === 0 && head[7] === 0) return 'safetensors';
  throw new WeightFormatError(src.name, `not a weight file this engine reads (.pth or .safetensors): ${describeBytes(head, ascii, src.size)}`);
}

function describeBytes(head: Uint8Array, ascii: string, size: number): string {
  if (size === 0) return 'the file is empty';
  if (head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a && head[3] === 0x0a) {
    return 'it is a legacy (pre-1.6) PyTorch file; load it and save it again with torch.save in PyTorch ≥ 1.6';
  }
  if (head[0] === 0x80) return 'it is a bare pickle, not a torch.save zip archive';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'it is gzip-compressed; decompress it first';
  if (ascii.startsWith('version https://git-lfs')) return 'it is a Git LFS pointer, not the weights; fetch the real file (git lfs pull)';
  if (/^\s*</.test(ascii)) return 'it looks like an HTML or XML page (a failed download?)';
  if (/^\s*[{[]/.test(ascii)) return 'it looks like a JSON text file';
  if (ascii.startsWith('\x89HDF')) return 'it is an HDF5 (Keras) file';
  if (ascii.startsWith('GGUF')) return 'it is a GGUF file';
  const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `unrecognized format (first bytes ${hex})`;
}

/** Tensor names, dtypes, shapes and byte ranges, without reading tensor data. */
export async function listTensors(src: RandomAccessSource): Promise<{ format: WeightFormat; tensors: TensorInfo[] }> {
  const format = await detectFormat(src);
  const tensors = format === 'pth' ? (await openPth(src)).tensors : (await readSafetensorsHeader(src)).tensors;
  return { format, tensors };
}

/** All tensors of the state dict as float32 (for a .pth: checkpoint['model'], never the EMA copy). */
export async function readStateDict(src: RandomAccessSource): Promise<StateDict> {
  return (await readChecked(src, () => undefined)).tensors;
}

/**
 * Reads a Vim checkpoint; shapes are checked against the derived config before any
 * tensor data is read, and every value must be finite (NumericsError otherwise).
 */
export async function loadVimWeights(src: RandomAccessSource): Promise<{ config: VimConfig; tensors: StateDict }> {
  let config: VimConfig | undefined;
  const { tensors } = await readChecked(src, (listing) => {
    config = deriveConfig(new Map(listing.map((t) => [t.name, t])), src.name);
  });
  validateFinite(tensors, src.name);
  return { config: config!, tensors };
}

async function readChecked(src: RandomAccessSource, check: (listing: TensorInfo[]) => void): Promise<{ tensors: StateDict }> {
  if (await detectFormat(src) === 'pth') {
    const ckpt = await openPth(src);
    check(ckpt.tensors);
    return { tensors: await readPthStateDict(ckpt) };
  }
  const header = await readSafetensorsHeader(src);
  check(header.tensors);
  return { tensors: await readSafetensors(src, header) };
}
