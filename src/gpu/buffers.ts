// Every GPU buffer the engine creates goes through this registry, so that
// dispose() can destroy all of them and tests can count what is still alive.

export class BufferRegistry {
  private readonly live = new Set<GPUBuffer>();
  private liveBytes = 0;
  private peak = 0;
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  create(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    // WebGPU needs sizes that are multiples of 4 and non-zero.
    const padded = Math.max(16, Math.ceil(size / 16) * 16);
    const buffer = this.device.createBuffer({ label, size: padded, usage });
    this.live.add(buffer);
    this.created++;
    this.liveBytes += padded;
    this.peak = Math.max(this.peak, this.liveBytes);
    return buffer;
  }

  /** A storage buffer initialised from host data. */
  upload(label: string, data: ArrayBufferView, usage: GPUBufferUsageFlags = GPUBufferUsage.STORAGE): GPUBuffer {
    const buffer = this.create(label, data.byteLength, usage | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  storage(label: string, size: number, extraUsage: GPUBufferUsageFlags = 0): GPUBuffer {
    return this.create(label, size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage);
  }

  destroy(buffer: GPUBuffer): void {
    if (this.live.delete(buffer)) {
      this.liveBytes -= buffer.size;
      buffer.destroy();
    }
  }

  destroyAll(): void {
    for (const b of [...this.live]) this.destroy(b);
  }

  get liveCount(): number { return this.live.size; }
  get bytesInUse(): number { return this.liveBytes; }
  get peakBytes(): number { return this.peak; }
}

/** Copies a storage buffer back to the host (one submit; for tests, logits and debugging). */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, byteLength = src.size, offset = 0): Promise<Float32Array> {
  const staging = device.createBuffer({ size: byteLength, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, offset, staging, 0, byteLength);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}
