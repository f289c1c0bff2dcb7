// Progress of one load, as the page sees it. Every field only grows, and the
// overall fraction reaches 1 exactly when the model is ready. A load has up to
// two phases: 'convert' (a .pth or plain safetensors read and converted in
// memory: bytes are source bytes) and 'upload' (tensors written to the GPU as
// they arrive: bytes are bytes of the vim-webgpu file). The fraction weighs them
// 0.9 / 0.1 when both happen, since the upload from memory is quick.

export interface LoadProgress {
  phase: 'convert' | 'upload';
  loadedBytes: number;
  totalBytes: number;
  tensorsReady: number;
  tensorsTotal: number;
  /** 0 … 1 over the whole load. */
  fraction: number;
}

export type ProgressCallback = (p: LoadProgress) => void;

export class ProgressTracker {
  private last: LoadProgress = { phase: 'upload', loadedBytes: 0, totalBytes: 0, tensorsReady: 0, tensorsTotal: 0, fraction: 0 };
  /** Share of the fraction before the upload phase (0 when there is no conversion). */
  private uploadBase = 0;
  private convertedBytes = 0;

  constructor(private readonly callback?: ProgressCallback) {}

  /** Conversion of a source of `total` model bytes has read `read` of them. */
  converting(read: number, total: number): void {
    this.uploadBase = 0.9;
    this.convertedBytes = total;
    this.emit({ phase: 'convert', loadedBytes: read, totalBytes: total, tensorsReady: 0, tensorsTotal: 0, fraction: total ? 0.9 * read / total : 0 });
  }

  /** `loaded` of `total` bytes of the vim-webgpu file seen, `ready` of `tensors` model tensors on the GPU. */
  uploading(loaded: number, total: number, ready: number, tensors: number): void {
    const own = total && tensors ? (loaded / total + ready / tensors) / 2 : 0;
    const converting = this.uploadBase > 0;
    this.emit({
      phase: 'upload',
      // After a conversion the byte counts stay those of the source: the file bytes come from memory.
      loadedBytes: converting ? this.convertedBytes : loaded,
      totalBytes: converting ? this.convertedBytes : total,
      tensorsReady: ready,
      tensorsTotal: tensors,
      fraction: this.uploadBase + (1 - this.uploadBase) * own,
    });
  }

  private emit(p: LoadProgress): void {
    // Guard the promise of monotonic fields even if a caller reports out of order.
    const l = this.last;
    const next: LoadProgress = {
      phase: p.phase,
      loadedBytes: Math.max(l.loadedBytes, p.loadedBytes),
      totalBytes: Math.max(l.totalBytes, p.totalBytes),
      tensorsReady: Math.max(l.tensorsReady, p.tensorsReady),
      tensorsTotal: Math.max(l.tensorsTotal, p.tensorsTotal),
      fraction: Math.min(1, Math.max(l.fraction, p.fraction)),
    };
    if (next.loadedBytes === l.loadedBytes && next.tensorsReady === l.tensorsReady && next.fraction === l.fraction &&
        next.phase === l.phase && next.totalBytes === l.totalBytes && next.tensorsTotal === l.tensorsTotal) return;
    this.last = next;
    this.callback?.({ ...next });
  }

  get current(): LoadProgress { return { ...this.last }; }
}
