// The one place that decides whether a GPU call failed because the device is
// gone. Every GpuContext has one watcher (context.ts); the model (VimGpu) and
// the engine (src/engine) both wait on their readbacks through it.
//
// Two ways a loss shows: `device.lost` settles (a reaction may then be waiting
// forever on a mapAsync that never resolves), or a readback rejects first with
// an untyped error. For the second, the rejection is judged once the queue has
// drained (onSubmittedWorkDone resolves even on a lost device): by then a lost
// device has settled `lost`. No timers, no matching of error text.
import { DeviceLostError } from '../errors.js';

export class DeviceWatcher {
  private reason?: string;
  /**
   * Rejecters of the calls waiting now. A set rather than a race against
   * `device.lost` per call: each race would leave a reaction (holding the call's
   * result) on a promise that may never settle.
   */
  private readonly waiters = new Set<(e: Error) => void>();

  constructor(private readonly device: GPUDevice) {
    void device.lost.then((info) => {
      this.reason = info.message || info.reason || 'no reason given';
      for (const reject of this.waiters) reject(this.error());
      this.waiters.clear();
    });
  }

  get lost(): boolean { return this.reason !== undefined; }

  error(): DeviceLostError {
    return new DeviceLostError(`the GPU device was lost (${this.reason ?? 'no reason given'})`);
  }

  /** Throws DeviceLostError if the device is already lost (before submitting work to it). */
  check(): void {
    if (this.lost) throw this.error();
  }

  /** Settles like `work`, or rejects with DeviceLostError as soon as the device is lost. */
  watch<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.lost) return reject(this.error());
      this.waiters.add(reject);
      work.then(resolve, async (e: unknown) => {
        await Promise.race([this.device.lost, this.device.queue.onSubmittedWorkDone()]).catch(() => undefined);
        reject(this.lost ? this.error() : e);
      }).finally(() => this.waiters.delete(reject));
    });
  }
}
