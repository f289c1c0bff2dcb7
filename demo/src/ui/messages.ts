// Turns any failure into words a visitor can act on: what happened, then what to do.
// The engine's typed errors decide the wording; their own message is the detail.
import {
  DeviceLostError, GpuUnavailableError, InputError, LimitExceededError, ModelShapeError, NumericsError,
  WeightFetchError, WeightFormatError, isOutOfMemory,
} from '../engine.js';

export type MessageKind =
  | 'no-webgpu' | 'not-a-checkpoint' | 'out-of-memory' | 'limit' | 'device-lost' | 'download' | 'image' | 'camera' | 'other';

export interface Message {
  kind: MessageKind;
  title: string;
  detail: string;
}

function detailOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function describeError(e: unknown, context: 'model' | 'image'): Message {
  const detail = detailOf(e);
  if (e instanceof GpuUnavailableError) {
    return { kind: 'no-webgpu', title: 'WebGPU is not available', detail };
  }
  if (isOutOfMemory(e)) {
    return {
      kind: 'out-of-memory', title: 'The GPU ran out of memory',
      detail: 'Try a lower resolution or int8 precision, or close other tabs that use the GPU. ' + detail,
    };
  }
  if (e instanceof WeightFormatError || e instanceof ModelShapeError || (context === 'model' && e instanceof NumericsError)) {
    return {
      kind: 'not-a-checkpoint', title: 'That file is not a Vim checkpoint',
      detail: `${detail}.`,
    };
  }
  if (e instanceof LimitExceededError) {
    return { kind: 'limit', title: 'This GPU cannot run the model at this size', detail: `${detail}. Choose a lower resolution.` };
  }
  if (e instanceof DeviceLostError) {
    return { kind: 'device-lost', title: 'The GPU was reset', detail: `${detail}. Reload the page to start again.` };
  }
  if (e instanceof WeightFetchError) {
    return { kind: 'download', title: 'The model could not be downloaded', detail: `${detail}. Check the connection and try again.` };
  }
  if (context === 'image') {
    return { kind: 'image', title: 'Could not classify that image', detail };
  }
  if (e instanceof InputError) {
    return { kind: 'other', title: 'This setting cannot be used', detail };
  }
  return { kind: 'other', title: 'Could not load the model', detail };
}

export function cameraError(e: unknown): Message {
  const name = e instanceof Error ? e.name : '';
  const detail =
    name === 'NotAllowedError' ? 'Camera access was refused. Allow it in the address bar, then press Camera again.'
    : name === 'NotFoundError' ? 'No camera was found on this device.'
    : name === 'NotReadableError' ? 'The camera is in use by another application.'
    : typeof navigator.mediaDevices?.getUserMedia !== 'function' ? 'This browser offers no camera access on this page (it needs HTTPS or localhost).'
    : detailOf(e);
  return { kind: 'camera', title: 'The camera could not start', detail };
}

/** Shows a message in the panel's alert box (announced by screen readers), or hides it. */
export function showMessage(box: HTMLElement, msg: Message | undefined): void {
  box.replaceChildren();
  box.hidden = !msg;
  if (!msg) return;
  box.dataset.kind = msg.kind;
  const title = document.createElement('strong');
  title.textContent = msg.title;
  const detail = document.createElement('p');
  detail.textContent = msg.detail;
  box.append(title, detail);
}
