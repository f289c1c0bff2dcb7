// Page start-up: find the elements, build the views, wire inputs to the controller,
// load the default model. Everything with state lives in controller.ts.
import { Controller } from './controller.js';
import { DEFAULT_MODEL } from './models.js';
import { Camera, LiveLoop } from './ui/camera.js';
import { setupInput } from './ui/input.js';
import { cameraError, describeError } from './ui/messages.js';
import { ModelPanel } from './ui/model-panel.js';
import { ProgressView } from './ui/progress.js';
import { ResultsView } from './ui/results.js';
import { setupTheme } from './ui/theme.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
};

setupTheme($<HTMLButtonElement>('theme-toggle'));

const stage = $('stage');
const preview = $<HTMLImageElement>('preview');
const video = $<HTMLVideoElement>('video');
const empty = $('stage-empty');
const notice = $('gpu-notice');
const bars = $<HTMLOListElement>('bars');

/** What the stage shows: the picker/preview, the camera, or the WebGPU notice. */
function stageMode(mode: 'image' | 'camera' | 'notice'): void {
  stage.dataset.mode = mode;
  notice.hidden = mode !== 'notice';
  video.hidden = mode !== 'camera';
  const hasImage = Boolean(preview.getAttribute('src'));
  preview.hidden = mode !== 'image' || !hasImage;
  empty.hidden = mode !== 'image' || hasImage;
  // Only the picker mode acts as a button; the others hold their own controls.
  if (mode === 'image') stage.setAttribute('role', 'button');
  else stage.removeAttribute('role');
  stage.tabIndex = mode === 'image' ? 0 : -1;
}

let previewUrl: string | undefined;
function showImage(file: Blob): void {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  preview.src = previewUrl;
  $('backdrop').style.backgroundImage = `url("${previewUrl}")`;
  stage.classList.add('has-image');
  preview.alt = (file as File).name ? `Your image: ${(file as File).name}` : 'Your image';
  if (camera.active) stopCamera();
  stageMode('image');
}

const results = new ResultsView(bars, {
  gpu: $('m-gpu'), wall: $('m-wall'), res: $('m-res'), mem: $('m-mem'), adapter: $('m-adapter'), features: $('m-features'),
});
const progress = new ProgressView($('progress'), $('progress-fill'), $('progress-text'));
const panel = new ModelPanel({
  form: document.querySelector<HTMLElement>('.model-card')!,
  bundledName: $('bundled-name'), bundledBlurb: $('bundled-blurb'),
  fileRadio: $<HTMLInputElement>('source-file'), fileName: $('file-name'),
  resolution: $<HTMLSelectElement>('resolution'), interpolation: $<HTMLSelectElement>('interpolation'),
}, DEFAULT_MODEL, (sel) => void app.load(sel));

// Page load → first result, for the e2e timing (cold and cached) and the curious.
const pageStart = performance.timeOrigin;
let firstResultLogged = false;

const app = new Controller(DEFAULT_MODEL, {
  panel, progress, results, bars, status: $('status'), message: $('message'), busy: $('busy'),
  showImage,
  showGpuNotice(detail) {
    const d = $('gpu-notice-detail');
    d.textContent = detail ? `Details: ${detail}` : '';
    d.hidden = !detail;
    stageMode('notice');
  },
  onResult() {
    if (firstResultLogged) return;
    firstResultLogged = true;
    const ms = Date.now() - pageStart;
    document.documentElement.dataset.firstResultMs = String(Math.round(ms));
    console.info(`vim-webgpu demo: first result ${Math.round(ms)} ms after navigation start`);
  },
});

// Camera and live mode.
const camera = new Camera(video);
const cameraBtn = $<HTMLButtonElement>('camera-toggle');
const snap = $<HTMLButtonElement>('snap');
const live = $<HTMLInputElement>('live');
const fps = $('fps');
const loop = new LiveLoop(video, (f) => {
  fps.hidden = f === undefined;
  fps.textContent = f === undefined ? '' : `${f.toFixed(1)} frames/s`;
});

/** Classifies the current camera frame, shrunk to twice the model's input side. */
async function classifyFrame(liveMode: boolean): Promise<void> {
  const side = 2 * (app.resolution ?? 224);
  await app.classify(camera.grab(side), liveMode);
}

function stopCamera(): void {
  loop.stop();
  camera.stop();
  live.checked = false;
  live.disabled = snap.disabled = true;
  cameraBtn.setAttribute('aria-pressed', 'false');
  stageMode('image');
}

cameraBtn.addEventListener('click', async () => {
  if (camera.active) return stopCamera();
  try {
    await camera.start();
  } catch (e) {
    app.message(cameraError(e));
    return;
  }
  app.forgetImage();
  cameraBtn.setAttribute('aria-pressed', 'true');
  live.disabled = snap.disabled = false;
  stageMode('camera');
});
snap.addEventListener('click', () => {
  classifyFrame(false).catch((e: unknown) => app.message(describeError(e, 'image')));
});
live.addEventListener('change', () => {
  if (!live.checked) return loop.stop();
  loop.start(() => classifyFrame(true));
});

setupInput({
  stage, chooseImage: $<HTMLButtonElement>('choose-image'), fileInput: $<HTMLInputElement>('file-input'),
  ckptDrop: $('ckpt-drop'), ckptInput: $<HTMLInputElement>('ckpt-input'),
}, {
  onImage: (f) => void app.classifyFile(f),
  onCheckpoint: (f) => app.useCheckpoint(f),
});

$('cpu-fallback').addEventListener('click', () => {
  app.cpuFallback = true;
  $('backend-note').textContent = 'Running on the CPU: WebGPU is not available in this browser.';
  stageMode('image');
  void app.load(panel.get());
});

/** Says why there is no WebGPU before anything is downloaded; the CPU path is opt-in. */
function noWebGpu(detail: string): void {
  app.setStatus('unavailable');
  progress.failed('WebGPU is not available in this browser');
  const d = $('gpu-notice-detail');
  d.textContent = `Details: ${detail}`;
  d.hidden = false;
  stageMode('notice');
}

async function start(): Promise<void> {
  stageMode('image');
  const gpu = navigator.gpu;
  if (!gpu) return noWebGpu('this browser has no navigator.gpu.');
  // navigator.gpu can exist with no usable adapter (blocklisted GPU, WebGPU switched off).
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) return noWebGpu('WebGPU is present, but it offers no GPU adapter (the GPU may be blocklisted, or WebGPU switched off).');
  await app.load(panel.get());
}

void start();
