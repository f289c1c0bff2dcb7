// The worker path in Node: the worker side (an EngineHandler around a
// WebGpuEngine on Dawn) and the page side (createWorkerEngine's RemoteEngine)
// joined by comlink over a MessageChannel, exactly as worker.ts and client.ts
// join them in a browser (Node has no Worker with WebGPU; the real Worker runs
// in the Playwright specs).
import { expose } from 'comlink';
import { nodeGpu } from '../src/gpu/node.js';
import { WebGpuEngine } from '../src/engine/webgpu-engine.js';
import { EngineHandler } from '../src/worker/engine-handler.js';
import { createWorkerEngine, type RemoteEngine } from '../src/worker/client.js';
import { installErrorTransfer } from '../src/worker/wire-errors.js';

export interface ChannelWorker {
  /** The page side. */
  engine: RemoteEngine;
  /** The engine inside the "worker", to reach its device in tests. */
  inner: WebGpuEngine;
  close(): void;
}

export async function channelWorker(gpu?: GPU): Promise<ChannelWorker> {
  installErrorTransfer();
  const inner = new WebGpuEngine({ gpu: gpu ?? await nodeGpu() });
  const channel = new MessageChannel();
  expose(new EngineHandler(inner), channel.port1 as never);
  const engine = createWorkerEngine({ endpoint: channel.port2 as never });
  return { engine, inner, close: () => { channel.port1.close(); channel.port2.close(); } };
}
