// What ONNX Runtime Web needs to run its WebGPU EP in Node on Dawn (the `webgpu`
// package), found by trying: it looks for navigator.gpu, and its WebAssembly
// runtime hands queue.writeBuffer views of its SharedArrayBuffer-backed memory,
// which Dawn for Node rejects ("Invalid argument"; browsers accept them).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { OrtBuild } from '../lib/cases.js';
import { captureLog, type Ort } from '../lib/deit-case.js';

export async function dawnGpu(): Promise<GPU> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // Node 21+ has a navigator object (without gpu); Node 20 has none.
  const g = globalThis as { navigator?: object };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator!, 'gpu', { value: gpu, configurable: true });
  shareableWriteBuffer();
  return gpu;
}

/** queue.writeBuffer that copies data living in a SharedArrayBuffer before Dawn sees it. */
function shareableWriteBuffer(): void {
  const write = GPUQueue.prototype.writeBuffer;
  GPUQueue.prototype.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) {
    if (data instanceof SharedArrayBuffer) {
      // Offsets and sizes count bytes for a raw buffer.
      const start = dataOffset ?? 0;
      data = new Uint8Array(data, start, size ?? data.byteLength - start).slice();
      dataOffset = 0;
      size = undefined;
    } else if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      // ...and elements for a typed array: slice() keeps the element type.
      const view = data as unknown as Uint8Array;
      const start = dataOffset ?? 0;
      data = view.slice(start, size === undefined ? undefined : start + size);
      dataOffset = 0;
      size = undefined;
    }
    return write.call(this, buffer, offset, data as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
}

/**
 * Sends what ORT's runtime prints to the graph probe while it records. In Node,
 * Emscripten prints with require('fs').writeSync(1 or 2, text), looked up at each call.
 */
export function tapOrtLog(): void {
  const fs = createRequire(import.meta.url)('fs') as { writeSync: (...a: unknown[]) => number };
  const write = fs.writeSync;
  fs.writeSync = (...a: unknown[]) => {
    if ((a[0] === 1 || a[0] === 2) && typeof a[1] === 'string' && captureLog(a[1])) return a[1].length;
    return write(...a);
  };
}

const ENTRY: Record<OrtBuild, string> = { webgpu: 'ort.webgpu.min.mjs', jsep: 'ort.min.mjs' };

/**
 * ORT's browser builds, imported by file: in Node the package's exports give a
 * WebAssembly-only build. BENCH_ORT_DIR, else node_modules/onnxruntime-web/dist found
 * from the working directory or this script upwards.
 */
export async function loadOrtNode(build: OrtBuild): Promise<Ort> {
  const candidates = [process.env.BENCH_ORT_DIR];
  for (let d = process.cwd(), i = 0; i < 6; d = dirname(d), i++) candidates.push(join(d, 'node_modules/onnxruntime-web/dist'));
  for (let d = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; d = dirname(d), i++) candidates.push(join(d, 'node_modules/onnxruntime-web/dist'));
  const dir = candidates.find((c) => c && existsSync(join(c, ENTRY[build])));
  if (!dir) throw new Error(`onnxruntime-web's ${ENTRY[build]} not found (set BENCH_ORT_DIR to its dist/ folder)`);
  const ort = (await import(pathToFileURL(resolve(dir, ENTRY[build])).href)) as Ort;
  ort.env.wasm.numThreads = 1;
  return ort;
}
