// Node entry to WebGPU: Dawn through the `webgpu` package. Kept out of browser bundles.
import { GpuUnavailableError } from '../errors.js';

export async function nodeGpu(dawnToggles: string[] = []): Promise<GPU> {
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new GpuUnavailableError(`the 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  return mod.create(dawnToggles);
}
