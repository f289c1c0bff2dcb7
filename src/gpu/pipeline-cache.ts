// Pipelines are compiled once per (kernel, compile-time constants) and shared by
// every dispatch that uses them. Creation is async so large shaders compile off
// the critical path; warm() compiles a list up front.

export interface KernelSource {
  /** Stable name, e.g. 'matmul'; part of the cache key. */
  name: string;
  /** WGSL code; constants below fill its `override` declarations. */
  code: string;
  entryPoint?: string;
  /** Values for the shader's `override` constants (tile sizes, flags). */
  constants?: Record<string, number>;
}

export function kernelKey(k: KernelSource): string {
  const consts = Object.entries(k.constants ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return `${k.name}:${k.entryPoint ?? 'main'}:${consts.map(([n, v]) => `${n}=${v}`).join(',')}`;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  private descriptor(k: KernelSource): GPUComputePipelineDescriptor {
    let module = this.modules.get(k.code);
    if (!module) {
      module = this.device.createShaderModule({ label: k.name, code: k.code });
      this.modules.set(k.code, module);
    }
    return {
      label: kernelKey(k),
      layout: 'auto',
      compute: { module, entryPoint: k.entryPoint ?? 'main', constants: k.constants },
    };
  }

  /** The pipeline, compiled synchronously if it was not warmed. */
  get(k: KernelSource): GPUComputePipeline {
    const key = kernelKey(k);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline(this.descriptor(k));
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Compiles pipelines asynchronously (in parallel where the implementation allows). */
  async warm(kernels: KernelSource[]): Promise<void> {
    await Promise.all(kernels.map((k) => {
      const key = kernelKey(k);
      if (this.pipelines.has(key)) return undefined;
      let p = this.pending.get(key);
      if (!p) {
        p = this.device.createComputePipelineAsync(this.descriptor(k)).then((pipe) => {
          this.pipelines.set(key, pipe);
          this.pending.delete(key);
          return pipe;
        });
        this.pending.set(key, p);
      }
      return p;
    }));
  }

  get size(): number { return this.pipelines.size; }
}
