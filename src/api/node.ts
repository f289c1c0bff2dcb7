// Node-only helpers, reached through import() of a specifier held in a variable:
// bundlers leave such imports alone, so a browser build of an app using this
// package neither bundles nor complains about `webgpu` (an optional peer
// dependency) or `node:fs`.
import { GpuUnavailableError, WeightFormatError } from '../errors.js';

const WEBGPU_PACKAGE = 'webgpu';
const NODE_FS = 'node:fs/promises';
const NODE_URL = 'node:url';

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

function load<T>(specifier: string): Promise<T> {
  // Both comments survive into dist/: without webpackIgnore, webpack 5 warns on every
  // build of an app ("Critical dependency: the request of a dependency is an expression").
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

interface WebGpuModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Dawn's GPU object from the `webgpu` package, with its globals (GPUBufferUsage, ...) installed. */
export async function nodeWebGpu(): Promise<GPU> {
  let mod: WebGpuModule;
  try {
    mod = await load<WebGpuModule>(WEBGPU_PACKAGE);
  } catch (e) {
    throw new GpuUnavailableError(`WebGPU in Node needs the optional peer dependency 'webgpu' (npm install webgpu): ${(e as Error).message}. ` +
      'Or pass cpuFallback: true to run on the CPU.');
  }
  Object.assign(globalThis, mod.globals);
  return mod.create([]);
}

/** Makes sure the WebGPU constants exist (a GPU object passed in from the `webgpu` package comes without them). */
export async function ensureWebGpuGlobals(): Promise<void> {
  if (typeof (globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage !== 'undefined' || !isNode()) return;
  try {
    Object.assign(globalThis, (await load<WebGpuModule>(WEBGPU_PACKAGE)).globals);
  } catch {
    // Without the package there is no GPU object to use either; acquisition reports it.
  }
}

/** A whole file's bytes (Node). */
export async function readNodeFile(path: string): Promise<Uint8Array> {
  const fs = await load<{ readFile(p: string): Promise<Uint8Array> }>(NODE_FS);
  try {
    const b = await fs.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); // a Buffer is a Uint8Array: no copy
  } catch (e) {
    throw new WeightFormatError(path, `cannot read the weights file: ${(e as Error).message}`);
  }
}

/** The path of a file: URL (Node). */
export async function nodeFilePath(url: string): Promise<string> {
  return (await load<{ fileURLToPath(u: string): string }>(NODE_URL)).fileURLToPath(url);
}
