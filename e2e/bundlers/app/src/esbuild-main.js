// esbuild leaves `new URL(…, import.meta.url)` alone: the app bundles `vim-webgpu/worker`
// as a second entry point (vim-webgpu-worker.js) and takes the model with the file loader,
// then passes both URLs (README: Bundlers).
import model from 'vim-webgpu/weights/vim-ti-imagenette.int8.safetensors';
import { start } from './app.js';

start({
  workerUrl: new URL('./vim-webgpu-worker.js', import.meta.url),
  weights: new URL(model, import.meta.url).href,
}, { defaultWorkerMissing: true });
