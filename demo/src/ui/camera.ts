// The camera: a getUserMedia stream shown in the stage's <video>, single frames
// grabbed onto a canvas, and a live loop that classifies one frame after another
// (never queueing: the next frame is taken only when the previous result is in).

export class Camera {
  private stream?: MediaStream;
  private readonly canvas = document.createElement('canvas');

  constructor(private readonly video: HTMLVideoElement) {}

  get active(): boolean {
    return this.stream !== undefined;
  }

  async start(): Promise<void> {
    if (this.stream) return;
    if (typeof navigator.mediaDevices?.getUserMedia !== 'function') {
      throw new Error('getUserMedia is not available');
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
  }

  stop(): void {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = undefined;
    this.video.srcObject = null;
  }

  /**
   * The current frame as pixels whose shorter side is at most `shorter` px: the
   * model's preprocessing shrinks it anyway, and a small copy is cheap to hand
   * over. Plain pixels work everywhere; handing the engine a VideoFrame does not
   * (Chromium on SwiftShader cannot copy an I420 frame into a GPU texture).
   */
  grab(shorter: number): ImageData {
    const w = this.video.videoWidth, h = this.video.videoHeight;
    if (!w || !h) throw new Error('the camera has not delivered a frame yet');
    const scale = Math.min(1, shorter / Math.min(w, h));
    const cw = Math.max(1, Math.round(w * scale)), ch = Math.max(1, Math.round(h * scale));
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
    }
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this.video, 0, 0, cw, ch);
    return ctx.getImageData(0, 0, cw, ch);
  }
}

/** Runs `step` back to back, once per displayed video frame at most, and reports frames/s. */
export class LiveLoop {
  private running = false;
  private generation = 0;

  constructor(private readonly video: HTMLVideoElement, private readonly onFps: (fps: number | undefined) => void) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(step: () => Promise<void>): void {
    if (this.running) return;
    this.running = true;
    const gen = ++this.generation;
    void this.run(step, gen);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.onFps(undefined);
  }

  private async run(step: () => Promise<void>, gen: number): Promise<void> {
    let fps: number | undefined;
    let last = performance.now();
    while (this.running && gen === this.generation) {
      await this.nextFrame();
      if (gen !== this.generation) break;
      try {
        await step();
      } catch {
        this.stop(); // the caller has shown the error; don't spin on it
        break;
      }
      const now = performance.now();
      const instant = 1000 / Math.max(1, now - last);
      last = now;
      // Exponential average: steady enough to read, quick enough to follow changes.
      fps = fps === undefined ? instant : 0.8 * fps + 0.2 * instant;
      if (gen === this.generation) this.onFps(fps);
    }
  }

  private nextFrame(): Promise<void> {
    return new Promise((resolve) => {
      const v = this.video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number };
      if (typeof v.requestVideoFrameCallback === 'function') v.requestVideoFrameCallback(() => resolve());
      else requestAnimationFrame(() => resolve());
    });
  }
}
