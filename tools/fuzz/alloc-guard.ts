// Watches typed-array and ArrayBuffer allocations while a fuzz case runs. The
// global constructors are replaced by transparent proxies (instanceof, statics
// and subclassing keep working) that record the largest request and refuse one
// above a hard cap, so a reader that trusts a lying size field is caught before
// it takes the process's memory, not after.
//
// Install it BEFORE importing the code under test: libraries such as fflate
// keep their own reference to Uint8Array from module load time.

/** Thrown (and reported as a bug) when a single allocation exceeds the hard cap. */
export class AllocationBoundError extends Error {
  constructor(readonly bytes: number, readonly cap: number, readonly what: string) {
    super(`${what} of ${bytes} bytes exceeds the fuzz cap of ${cap} bytes`);
    this.name = 'AllocationBoundError';
  }
}

const CONSTRUCTORS = [
  'ArrayBuffer', 'SharedArrayBuffer', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigUint64Array', 'BigInt64Array',
] as const;

interface GuardState { installed: boolean; armed: boolean; cap: number; largest: number; largestWhat: string }
const state: GuardState = { installed: false, armed: false, cap: Infinity, largest: 0, largestWhat: '' };

/** Bytes a constructor call will allocate (0 for views over an existing buffer). */
function requestedBytes(name: string, args: unknown[]): number {
  const [first] = args;
  if (name === 'ArrayBuffer' || name === 'SharedArrayBuffer') return typeof first === 'number' ? first : Number(first) || 0;
  const element = (globalThis as unknown as Record<string, { BYTES_PER_ELEMENT: number }>)[name].BYTES_PER_ELEMENT;
  if (typeof first === 'number') return first * element;
  if (first === undefined || first === null) return 0;
  if (first instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && first instanceof SharedArrayBuffer)) return 0;
  const length = (first as { length?: unknown }).length;
  return typeof length === 'number' ? length * element : 0;
}

export function installAllocationGuard(): void {
  if (state.installed) return;
  state.installed = true;
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of CONSTRUCTORS) {
    const original = g[name] as (new (...a: unknown[]) => object) | undefined;
    if (typeof original !== 'function') continue;
    g[name] = new Proxy(original, {
      construct(target, args, newTarget) {
        if (state.armed) {
          const bytes = requestedBytes(name, args);
          if (bytes > state.largest) { state.largest = bytes; state.largestWhat = name; }
          if (bytes > state.cap) throw new AllocationBoundError(bytes, state.cap, `new ${name}`);
        }
        // Keep subclasses (new.target) and the original prototype chain.
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
    });
  }
}

/** Starts watching one case: allocations above `cap` bytes throw AllocationBoundError. */
export function armAllocationGuard(cap: number): void {
  state.armed = true;
  state.cap = cap;
  state.largest = 0;
  state.largestWhat = '';
}

/** Stops watching; returns the largest single allocation seen since arming. */
export function disarmAllocationGuard(): { largest: number; what: string } {
  state.armed = false;
  state.cap = Infinity;
  return { largest: state.largest, what: state.largestWhat };
}

export function allocationGuardInstalled(): boolean {
  return state.installed;
}
