// Pipelines are compiled once per (shader code, kernel, compile-time constants) and
// shared by every dispatch that uses them. Creation is async so large shaders
// compile off the critical path; warm() compiles a list up front.

export interface KernelSource {
  /** Stable name, e.g. 'matmul'; part of the readable key. */
  name: string;
  /** WGSL code; constants below fill its `override` declarations. Part of the cache key. */
  code: string;
  entryPoint?: string;
  /** Values for the shader's `override` constants (tile sizes, flags). */
  constants?: Record<string, number>;
}

/**
 * The readable key of a kernel: name, entry point and constants. Labels and timing
 * groups use it. It does not name the code, so two kernels that share a name but not
 * their WGSL have the same kernelKey; the cache tells them apart (see PipelineCache).
 */
export function kernelKey(k: KernelSource): string {
  const consts = Object.entries(k.constants ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return `${k.name}:${k.entryPoint ?? 'main'}:${consts.map(([n, v]) => `${n}=${v}`).join(',')}`;
}

export class PipelineCache {
  /** One shader module per distinct WGSL text, with a small id that stands for that text in keys. */
  private readonly modules = new Map<string, { module: GPUShaderModule; id: number }>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  private moduleFor(k: KernelSource): { module: GPUShaderModule; id: number } {
    let m = this.modules.get(k.code);
    if (!m) {
      m = { module: this.device.createShaderModule({ label: k.name, code: k.code }), id: this.modules.size };
      this.modules.set(k.code, m);
    }
    return m;
  }

  /** The cache key: the code's id (exact: the module map is keyed by the full text) plus kernelKey. */
  private key(k: KernelSource): string {
    return `${this.moduleFor(k).id}|${kernelKey(k)}`;
  }

  private descriptor(k: KernelSource): GPUComputePipelineDescriptor {
    return {
      label: kernelKey(k),
      layout: 'auto',
      compute: { module: this.moduleFor(k).module, entryPoint: k.entryPoint ?? 'main', constants: k.constants },
    };
  }

  /** The pipeline, compiled synchronously if it was not warmed. */
  get(k: KernelSource): GPUComputePipeline {
    const key = this.key(k);
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
      const key = this.key(k);
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
