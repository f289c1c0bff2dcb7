// Node-only helpers, reached through import() of a specifier held in a variable:
// bundlers leave such imports alone, so a browser build of an app using this
// package neither bundles nor complains about `webgpu` (an optional peer
// dependency) or `node:fs`.
import { GpuUnavailableError } from '../errors.js';

const WEBGPU_PACKAGE = 'webgpu';
const NODE_FS = 'node:fs';
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

/** A string that names a URL (scheme:), as opposed to a file path; a Windows drive letter is a path. */
export function looksLikeUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s);
}

/**
 * In Node, the local file a weights or image source names (a path, or a file:
 * URL), else undefined: everything else is fetched or read as it is.
 */
export async function localFilePath(source: unknown): Promise<string | undefined> {
  if (!isNode()) return undefined;
  const text = typeof source === 'string' ? source : source instanceof URL ? source.href : undefined;
  if (text === undefined) return undefined;
  if (!looksLikeUrl(text)) return text;
  if (!text.startsWith('file:')) return undefined;
  return (await load<{ fileURLToPath(u: string): string }>(NODE_URL)).fileURLToPath(text);
}

/**
 * A local file as a Blob that reads from disk as it is consumed (fs.openAsBlob),
 * named by its path; `fail` turns a missing or unreadable file into the caller's typed error.
 */
export async function openLocalFile(path: string, fail: (detail: string) => Error): Promise<Blob> {
  const fs = await load<{ openAsBlob(p: string): Promise<Blob>; promises: { stat(p: string): Promise<{ isFile(): boolean }> } }>(NODE_FS);
  let blob: Blob;
  try {
    // stat first: openAsBlob says only "Unable to open file as blob", stat says why (ENOENT, EACCES).
    if (!(await fs.promises.stat(path)).isFile()) throw new Error('not a file');
    blob = await fs.openAsBlob(path);
  } catch (e) {
    throw fail((e as Error).message);
  }
  // The loaders name a Blob by its `name`, as they do a File; a File wrapped around it would be a second Blob.
  Object.defineProperty(blob, 'name', { value: path });
  return blob;
}
