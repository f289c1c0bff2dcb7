// The worker engine's public surface: start it from the page with
// createWorkerEngine(); protocol.ts holds the types both sides share.
export { createWorkerEngine, type WorkerEngine, type WorkerEngineOptions, type ClientLoadOptions, type TransferOption } from './client.js';
export type * from './protocol.js';
