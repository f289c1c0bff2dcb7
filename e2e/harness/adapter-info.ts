// What the page's GPU offers, as the engine sees it: tests check features, and the
// report is attached to the test results so a run says which adapter it used.
import type { GpuContext } from '../../src/gpu/context.js';
import { pageGpu } from './gpu.js';

export interface AdapterReport {
  info: GpuContext['adapterInfo'];
  /** The device's features. acquireGpu requests every optional feature the engine
   *  uses that the adapter has, so a name missing here is missing on the adapter. */
  features: string[];
  limits: Record<string, number>;
}

const REPORTED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage',
] as const;

export async function adapterInfo(): Promise<AdapterReport> {
  const { adapterInfo: info, device } = await pageGpu();
  const limits: Record<string, number> = {};
  for (const k of REPORTED_LIMITS) limits[k] = device.limits[k];
  return { info, features: [...device.features].sort(), limits };
}
