// The Web Worker entry: the WebGPU engine (acquiring its device inside the
// worker) exposed to the page through comlink. Started by createWorkerEngine()
// in client.ts as a module worker.
import { expose } from 'comlink';
import { WebGpuEngine } from '../engine/webgpu-engine.js';
import { EngineHandler } from './engine-handler.js';
import { installErrorTransfer } from './wire-errors.js';

installErrorTransfer();
expose(new EngineHandler(new WebGpuEngine()));
