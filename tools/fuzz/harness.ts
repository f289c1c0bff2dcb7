// One fuzz case: generate hostile bytes, hand them to a reader, and classify how
// it ended. The contract under test (issue 10): a typed VimError or a valid
// result, within the time budget, with no single allocation above the target's
// stated bound and no more bytes read than the bound allows. Anything else is
// a bug: an untyped exception (RangeError, TypeError, ...), a slow case, an
// over-sized allocation or read.
import { VimError } from '../../src/errors.js';
import { AllocationBoundError, armAllocationGuard, disarmAllocationGuard } from './alloc-guard.js';
import type { Rng } from './rng.js';

export interface FuzzCase {
  /** Which generator made it (for the per-kind breakdown). */
  kind: string;
  bytes: Uint8Array;
}

export interface RunStats {
  /** Bytes the reader pulled from its source (weights readers). */
  bytesRead?: number;
  /** Qualifies an accepted input: the outcome becomes 'valid:<note>'. */
  note?: string;
}

export interface Target {
  name: string;
  /** Loads seed files and builds seed inputs; called once per process. */
  prepare(): Promise<void>;
  generate(rng: Rng): FuzzCase;
  /** Parses the bytes the way the engine would; resolves when the input is accepted. Fills `stats` as it goes. */
  run(bytes: Uint8Array, stats: RunStats): Promise<void>;
  /** Largest single allocation the reader may make for this input, in bytes. */
  allocBound(bytes: Uint8Array): number;
  /** Most bytes the reader may read from its source. */
  readBound?(bytes: Uint8Array): number;
  /** The stated bounds in words, for the report. */
  bounds: string;
}

export interface Outcome {
  /** 'valid', 'typed:<ErrorClass>', or 'bug:<what>'. */
  outcome: string;
  /** CPU time the case took (user + system, all of the process's threads). */
  ms: number;
  /** Wall-clock time: larger than `ms` when other processes share the cores. */
  wallMs: number;
  largestAllocation: number;
  /** For bugs: what happened. */
  detail?: string;
}

/** Thrown by a target when it sees a broken promise the reader did not report (a leak, an inconsistent result). */
export class FuzzBug extends Error {
  constructor(readonly what: string, detail: string) {
    super(detail);
    this.name = 'FuzzBug';
  }
}

/**
 * Per-case budget. Measured in CPU time: the fuzzer runs at low priority on
 * shared cores, where wall-clock time says more about the neighbours than the reader.
 */
export const CASE_BUDGET_MS = 2000;

export async function runCase(target: Target, c: FuzzCase): Promise<Outcome> {
  const cap = target.allocBound(c.bytes);
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  let outcome: string, detail: string | undefined;
  const stats: RunStats = {};
  armAllocationGuard(cap);
  try {
    await target.run(c.bytes, stats);
    outcome = stats.note ? `valid:${stats.note}` : 'valid';
  } catch (e) {
    ({ outcome, detail } = classify(e));
  }
  const { largest } = disarmAllocationGuard();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const ms = (cpu.user + cpu.system) / 1000;
  if (!outcome.startsWith('bug:')) {
    const readCap = target.readBound?.(c.bytes);
    if (ms > CASE_BUDGET_MS) { outcome = 'bug:slow'; detail = `${ms.toFixed(0)} ms`; }
    else if (readCap !== undefined && (stats.bytesRead ?? 0) > readCap) {
      outcome = 'bug:read-amplification'; detail = `read ${stats.bytesRead} bytes, bound ${readCap}`;
    }
  }
  return { outcome, ms, wallMs, largestAllocation: largest, detail };
}

function classify(e: unknown): { outcome: string; detail?: string } {
  if (e instanceof AllocationBoundError) return { outcome: 'bug:allocation', detail: e.message };
  if (e instanceof FuzzBug) return { outcome: `bug:${e.what}`, detail: e.message };
  if (e instanceof VimError) return { outcome: `typed:${e.name}` };
  const err = e instanceof Error ? e : new Error(String(e));
  const where = (err.stack ?? '').split('\n').slice(1, 3).map((s) => s.trim()).join(' | ');
  return { outcome: `bug:untyped:${err.name}`, detail: `${err.message.slice(0, 200)} @ ${where}` };
}
