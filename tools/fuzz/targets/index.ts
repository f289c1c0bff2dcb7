// Every reader the fuzzer knows, by name.
import type { Target } from '../harness.js';
import { pthTarget } from './pth.js';
import { safetensorsTarget } from './safetensors.js';
import { pngTarget } from './png.js';
import { jpegTarget } from './jpeg.js';
import { vimwTarget } from './vimw.js';
import { vimwStreamTarget } from './vimw-stream.js';

export const TARGETS: Record<string, Target> = {
  pth: pthTarget,
  safetensors: safetensorsTarget,
  png: pngTarget,
  jpeg: jpegTarget,
  vimw: vimwTarget,
  'vimw-stream': vimwStreamTarget,
};
