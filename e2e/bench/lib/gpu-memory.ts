// Bytes of live GPU buffers, counted the same way for both engines. ONNX Runtime Web
// reports no memory figure and creates its own device, so the count wraps the WebGPU
// API itself: GPUDevice.prototype.createBuffer adds a buffer's size, GPUBuffer
// destroy() (or its device's destroy(), or garbage collection of a buffer nobody
// destroyed) takes it away. Install it before any engine creates a device.
//
// What it measures is what the engines hold in buffers, pools included (ORT keeps
// released buffers for reuse: that memory is still taken). Textures, pipelines and the
// driver's own allocations are not counted, for either engine.

export interface MemoryTracker {
  /** Bytes in buffers created and not yet destroyed. */
  readonly live: number;
  /** Highest `live` since the last reset. */
  readonly peak: number;
  /** Largest single buffer created since the last reset. */
  readonly maxBuffer: number;
  /** Starts a new measurement: peak = live, maxBuffer = 0. */
  reset(): void;
}

interface Entry {
  size: number;
  device: GPUDevice;
}

const INSTALLED = Symbol.for('vim-webgpu.bench.memory');

export function trackGpuMemory(): MemoryTracker {
  const g = globalThis as typeof globalThis & { [INSTALLED]?: MemoryTracker };
  if (g[INSTALLED]) return g[INSTALLED];
  if (typeof GPUDevice === 'undefined' || typeof GPUBuffer === 'undefined') {
    throw new Error('trackGpuMemory: no WebGPU classes on globalThis (in Node, assign the webgpu package globals first)');
  }
  const entries = new WeakMap<GPUBuffer, Entry>();
  const perDevice = new Map<GPUDevice, number>();
  const deadDevices = new WeakSet<GPUDevice>();
  let live = 0, peak = 0, maxBuffer = 0;

  const release = (e: Entry) => {
    if (deadDevices.has(e.device)) return; // already taken away with its device
    live -= e.size;
    perDevice.set(e.device, (perDevice.get(e.device) ?? 0) - e.size);
  };
  // A buffer dropped without destroy() is freed when collected; count it out then.
  const collected = new FinalizationRegistry<Entry>(release);

  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor) {
    const buffer = createBuffer.call(this, desc);
    const e = { size: Number(desc.size), device: this };
    entries.set(buffer, e);
    collected.register(buffer, e, buffer);
    live += e.size;
    perDevice.set(this, (perDevice.get(this) ?? 0) + e.size);
    peak = Math.max(peak, live);
    maxBuffer = Math.max(maxBuffer, e.size);
    return buffer;
  };

  const destroyBuffer = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
    const e = entries.get(this);
    if (e) {
      entries.delete(this);
      collected.unregister(this);
      release(e);
    }
    return destroyBuffer.call(this);
  };

  const destroyDevice = GPUDevice.prototype.destroy;
  GPUDevice.prototype.destroy = function (this: GPUDevice) {
    if (!deadDevices.has(this)) {
      live -= perDevice.get(this) ?? 0;
      perDevice.delete(this);
      deadDevices.add(this);
    }
    return destroyDevice.call(this);
  };

  const tracker: MemoryTracker = {
    get live() { return live; },
    get peak() { return peak; },
    get maxBuffer() { return maxBuffer; },
    reset() { peak = live; maxBuffer = 0; },
  };
  g[INSTALLED] = tracker;
  return tracker;
}
