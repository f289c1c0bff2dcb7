// Bind groups by name. Each kernel module (src/ops/*.ts beside its .wgsl)
// declares what its shader binds in @group(0) as a map name → @binding number,
// and each entry point gets the part of that map it uses: pipelines take the
// 'auto' layout, whose bind group must hold exactly the bindings the entry point
// statically uses, no more. Callers then pass buffers by name, so a shader is
// free to number its bindings however reads best.
import type { KernelSource } from './pipeline-cache.js';

/** Binding names → @group(0) @binding numbers. */
export type BindingMap<B extends string = string> = Readonly<Record<B, number>>;

/**
 * The name under which a kernel's uniform block is declared: makeDispatch
 * uploads the parameter bytes it is given and binds them there.
 */
export const PARAMS = 'params';

/** A kernel (one entry point) with the bindings that entry point uses. */
export interface Kernel<B extends string = string> extends KernelSource {
  readonly bindings: BindingMap<B>;
}

/** The storage buffers a kernel takes: one per binding name, its uniform block excepted. */
export type StorageBuffers<B extends string> = Readonly<Record<Exclude<B, typeof PARAMS>, GPUBuffer>>;

/** The part of a module's map one entry point uses. */
export function bindingSubset<B extends string, U extends B>(map: BindingMap<B>, used: readonly U[]): BindingMap<U> {
  const out = {} as Record<U, number>;
  for (const name of used) out[name] = map[name];
  return out;
}

/**
 * Throws a TypeError naming the dispatch, the kernel and the binding unless the
 * buffers match the kernel's map exactly: one per storage binding, no name the
 * kernel does not declare, and parameters given exactly when it has a uniform block.
 * Called before anything is created, so a refused dispatch leaves no buffer behind.
 */
export function checkBindings(kernel: Kernel, dispatch: string, hasParams: boolean,
  storage: Readonly<Record<string, GPUBuffer | undefined>>): void {
  const where = `dispatch '${dispatch}' (kernel ${kernel.name}, entry point ${kernel.entryPoint ?? 'main'})`;
  const names = Object.keys(kernel.bindings).filter((n) => n !== PARAMS);
  for (const name of Object.keys(storage)) {
    if (!names.includes(name)) {
      throw new TypeError(`${where}: no storage binding named '${name}' (its storage bindings: ${names.join(', ') || 'none'})`);
    }
  }
  for (const name of names) {
    if (!storage[name]) throw new TypeError(`${where}: no buffer given for binding '${name}' (@binding(${kernel.bindings[name]}))`);
  }
  const wantsParams = PARAMS in kernel.bindings;
  if (wantsParams && !hasParams) throw new TypeError(`${where}: no parameters given for its uniform block ('${PARAMS}', @binding(${kernel.bindings[PARAMS]}))`);
  if (!wantsParams && hasParams) throw new TypeError(`${where}: parameters given, but it declares no '${PARAMS}' binding`);
}

/** The bind group entries, each buffer at its binding number (after checkBindings). */
export function bindGroupEntries(kernel: Kernel, uniform: GPUBuffer | undefined, storage: Readonly<Record<string, GPUBuffer>>): GPUBindGroupEntry[] {
  return Object.entries(kernel.bindings).map(([name, binding]) => ({
    binding, resource: { buffer: name === PARAMS ? uniform! : storage[name] },
  }));
}
