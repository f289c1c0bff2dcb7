// The one loading bar: overall fraction, bytes so far, download speed. Speed is
// averaged over the whole load (bytes ÷ time since start), which reads steadily
// instead of jumping with every network chunk.
import type { DemoProgress } from '../engine.js';
import { formatBytes, formatMs } from './format.js';

export class ProgressView {
  private t0 = 0;

  constructor(private readonly bar: HTMLElement, private readonly fill: HTMLElement, private readonly text: HTMLElement) {}

  start(what: string): void {
    this.t0 = performance.now();
    this.bar.dataset.done = 'false';
    this.set(0);
    this.text.textContent = `Loading ${what}…`;
  }

  update(p: DemoProgress): void {
    this.set(p.progress);
    const s = (performance.now() - this.t0) / 1000;
    const speed = s > 0.05 ? p.loadedBytes / s : 0;
    const bytes = p.totalBytes ? `${formatBytes(p.loadedBytes)} of ${formatBytes(p.totalBytes)}` : formatBytes(p.loadedBytes);
    // Speed while bytes arrive; once they are all in, what is happening instead.
    const done = p.totalBytes > 0 && p.loadedBytes >= p.totalBytes;
    const tail = p.note ? ` · ${p.note}` : done ? (p.phase === 'convert' ? ' · converting the checkpoint' : ' · preparing the GPU')
      : speed ? ` · ${formatBytes(speed)}/s` : '';
    this.text.textContent = `${bytes}${tail}`;
  }

  done(totalBytes: number): void {
    this.set(1);
    this.bar.dataset.done = 'true';
    this.text.textContent = `${formatBytes(totalBytes)} loaded in ${formatMs(performance.now() - this.t0)}`;
  }

  /**
   * A failed load: the text says so (details go to the message box); the bar stays
   * full when a previous model is still loaded, else it empties.
   */
  failed(note: string, previousKept = false): void {
    this.set(previousKept ? 1 : 0);
    this.bar.dataset.done = String(previousKept);
    this.text.textContent = note;
  }

  private set(fraction: number): void {
    const pct = Math.max(0, Math.min(1, fraction)) * 100;
    this.fill.style.width = `${pct}%`;
    this.bar.setAttribute('aria-valuenow', pct.toFixed(0));
  }
}
