// What the page's WebGPU adapter offers that matters to this engine. The public
// API describes the adapter by name only, so the demo asks WebGPU itself; the
// same power preference picks the same adapter the engine uses.
import { formatBytes } from './ui/format.js';

const RELEVANT = ['subgroups', 'timestamp-query', 'shader-f16'] as const;

export async function adapterFeatures(): Promise<string[]> {
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) return [];
  const out: string[] = RELEVANT.map((f) => (adapter.features.has(f) ? f : `no ${f}`));
  out.push(`${formatBytes(adapter.limits.maxStorageBufferBindingSize)} storage binding`);
  return out;
}
