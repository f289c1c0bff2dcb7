// Shared WebGPU context for Node tests (Dawn on a software Vulkan driver).
import { acquireGpu, type GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/gpu/node.js';

export async function testGpu(options: { useSubgroups?: boolean } = {}): Promise<GpuContext> {
  return acquireGpu({ gpu: await nodeGpu(), ...options });
}
