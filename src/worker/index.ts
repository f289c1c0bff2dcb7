// The worker engine's public surface: start it from the page with
// createWorkerEngine(); protocol.ts holds the types both sides share.
export { createWorkerEngine, RemoteEngine, WORKER_START_MS, type WorkerEngineOptions } from './client.js';
export type * from './protocol.js';
