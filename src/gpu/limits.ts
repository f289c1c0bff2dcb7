// The storage-binding size check shared by everything that binds a buffer whole
// (activations, weights, preprocessing temporaries). A buffer over the limit
// would not fail where it is made: WebGPU reports a validation error when its
// bind group is created and skips the dispatches that use it, so the results
// would be whatever memory held. Checking up front turns that into an error
// that names the limit and what to change.
import { LimitExceededError } from '../errors.js';
import type { GpuContext } from './context.js';

/**
 * The largest buffer this device can bind whole as storage. maxBufferSize is
 * included because the buffer must also be creatable (WebGPU keeps it at or
 * above the binding limit, so in practice this is maxStorageBufferBindingSize).
 */
export function storageBindingLimit(ctx: GpuContext): number {
  return Math.min(ctx.device.limits.maxStorageBufferBindingSize, ctx.device.limits.maxBufferSize);
}

/**
 * Throws LimitExceededError('maxStorageBufferBindingSize') when `bytes` cannot be
 * bound: "<what> is too large to bind on this adapter; <hint>", `hint` saying what
 * the caller can change (a smaller batch, a smaller image).
 */
export function checkBindingSize(ctx: GpuContext, bytes: number, what: string, hint: string): void {
  const limit = storageBindingLimit(ctx);
  if (bytes > limit) {
    throw new LimitExceededError('maxStorageBufferBindingSize', bytes, limit, `${what} is too large to bind on this adapter; ${hint}`);
  }
}
