// Every reader the fuzzer knows, by name.
import type { Target } from '../harness.js';
import { pthTarget } from './pth.js';

export const TARGETS: Record<string, Target> = {
  pth: pthTarget,
};
