// One GpuContext per page, acquired on first use and shared by the harness
// functions, as a real page would share one device between model runs.
import { acquireGpu, type GpuContext } from '../../src/gpu/context.js';

let context: Promise<GpuContext> | undefined;

export function pageGpu(): Promise<GpuContext> {
  context ??= acquireGpu().catch((e: unknown) => {
    context = undefined; // let a later call try again
    throw e;
  });
  return context;
}
