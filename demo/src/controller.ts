// The demo's state: which classifier is live, which load is in flight, which image
// is shown. Two rules shape it:
// - a new model replaces the running one only once it has loaded; a failed load
//   leaves the previous model in place (and the panel showing it);
// - classifications run one at a time; a user image that arrives while another
//   runs replaces any still-waiting one (only the latest matters).
import {
  classifyTimed, createClassifier, GpuUnavailableError,
  type Classifier, type ImageInput, type DemoProgress,
} from './engine.js';
import { adapterFeatures } from './adapter-features.js';
import { weightUrl, type BundledModel } from './models.js';
import type { ModelPanel, Selection } from './ui/model-panel.js';
import type { ProgressView } from './ui/progress.js';
import type { ResultsView } from './ui/results.js';
import { describeError, showMessage, type Message } from './ui/messages.js';

export type Status = 'loading' | 'ready' | 'error' | 'unavailable';

export interface ControllerViews {
  panel: ModelPanel;
  progress: ProgressView;
  results: ResultsView;
  status: HTMLElement;
  message: HTMLElement;
  busy: HTMLElement;
  bars: HTMLElement;
  /** Shows the "no WebGPU" notice in the stage, with the engine's own explanation. */
  showGpuNotice(detail?: string): void;
  /** Puts a still image (file) on the stage. */
  showImage(file: Blob): void;
  /** Called when a result (or error) for an image is on screen; the page-load timer uses it. */
  onResult?(): void;
}

export class Controller {
  private classifier?: Classifier;
  private active?: Selection;
  private checkpoint?: File;
  private loadSeq = 0;
  private loadAbort?: AbortController;
  private lastImage?: Blob;
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;
  cpuFallback = false;
  /** The adapter's relevant features, asked once. */
  private readonly features = adapterFeatures();

  constructor(private readonly model: BundledModel, private readonly v: ControllerViews) {}

  /** The running model's input side, once one is loaded. */
  get resolution(): number | undefined {
    return this.classifier?.info().resolution;
  }

  setStatus(s: Status): void {
    this.v.status.textContent = s;
    this.v.status.dataset.state = s;
  }

  message(m: Message | undefined): void {
    showMessage(this.v.message, m);
  }

  /** The visitor picked a checkpoint file: select it and load it. */
  useCheckpoint(file: File): void {
    this.checkpoint = file;
    const sel = { ...this.v.panel.get(), source: 'file' as const };
    this.v.panel.set(sel);
    void this.load(sel, file.name);
  }

  async load(sel: Selection, pendingFileName?: string): Promise<void> {
    const seq = ++this.loadSeq;
    this.loadAbort?.abort();
    const abort = (this.loadAbort = new AbortController());
    const file = sel.source === 'file' ? this.checkpoint : undefined;
    const name = file?.name ?? this.model.name;
    this.setStatus('loading');
    this.message(undefined);
    this.v.progress.start(name);
    let last: DemoProgress | undefined;
    try {
      if (sel.source === 'file' && !file) throw new Error('choose a checkpoint file first');
      const weights = file ?? weightUrl(this.model, sel.dtype).url;
      const c = await createClassifier({
        weights, dtype: sel.dtype, resolution: sel.resolution, interpolation: sel.interpolation,
        // A visitor's checkpoint brings its own classes (the engine names 1000 as ImageNet).
        labels: file ? undefined : this.model.labels,
        cpuFallback: this.cpuFallback, signal: abort.signal,
        onProgress: (p) => {
          last = p;
          if (seq === this.loadSeq) this.v.progress.update(p);
        },
      });
      if (seq !== this.loadSeq) {
        void c.dispose(); // a newer selection won while this one loaded
        return;
      }
      const previous = this.classifier;
      this.classifier = c;
      this.active = sel;
      void previous?.dispose();
      const info = c.info();
      if (file) this.v.panel.setCheckpoint(file.name);
      if (sel.resolution === undefined) this.v.panel.setNativeSize(info.resolution);
      this.v.progress.done(last?.totalBytes ?? 0);
      this.v.results.showInfo(info, await this.features);
      this.setStatus('ready');
      if (this.lastImage) await this.classify(this.lastImage);
    } catch (e) {
      // Superseded by a newer selection (and aborted by it): its error no longer matters.
      if (seq !== this.loadSeq) return;
      this.loadFailed(e, pendingFileName);
    }
  }

  private loadFailed(e: unknown, fileName?: string): void {
    const msg = describeError(e, 'model');
    if (fileName && msg.kind === 'not-a-checkpoint' && !msg.detail.includes(fileName)) msg.detail = `${fileName}: ${msg.detail}`;
    if (this.classifier) msg.detail += ' The previous model is still in use.';
    this.message(msg);
    this.v.progress.failed(this.classifier ? 'Load failed · previous model kept' : 'Load failed', this.classifier !== undefined);
    if (e instanceof GpuUnavailableError && !this.classifier) this.v.showGpuNotice(e.message);
    if (this.active) this.v.panel.set(this.active);
    // A checkpoint that failed to load is not offered again.
    if (fileName && this.active?.source !== 'file') {
      this.checkpoint = undefined;
      this.v.panel.setCheckpoint(undefined);
    }
    this.setStatus(this.classifier ? 'ready' : e instanceof GpuUnavailableError ? 'unavailable' : 'error');
  }

  /** A still image from the visitor: shown at once, classified as soon as a model is ready. */
  classifyFile(file: Blob): Promise<void> {
    this.lastImage = file;
    this.v.showImage(file);
    if (!this.classifier) return Promise.resolve();
    return this.classify(file);
  }

  /**
   * Queues one classification. A still image that is still waiting when a newer
   * one arrives is skipped; camera frames (`live`) are never queued more than one
   * deep because the live loop awaits each call.
   */
  classify(image: ImageInput, live = false): Promise<void> {
    const ticket = ++this.waiting;
    const run = async () => {
      if (!live && ticket !== this.waiting) return;
      const c = this.classifier;
      if (!c) return;
      this.v.busy.classList.add('on');
      this.v.bars.classList.add('stale');
      try {
        const result = await classifyTimed(c, image);
        if (c === this.classifier) this.v.results.show(result);
        // An image error is answered by this success; a load error stays until the next load.
        if (!this.v.message.hidden && this.v.message.dataset.kind === 'image') this.message(undefined);
      } catch (e) {
        this.message(describeError(e, 'image'));
        if (live) throw e;
      } finally {
        this.v.busy.classList.remove('on');
        this.v.bars.classList.remove('stale');
        this.v.onResult?.();
      }
    };
    const p = this.queue.then(run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Camera mode: the shown still image no longer applies. */
  forgetImage(): void {
    this.lastImage = undefined;
  }
}
