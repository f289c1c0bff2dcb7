// Packs one layer's per-channel scan constants (conv1d weight and bias, dt_proj
// rows and bias, D, A·log2 e) into the (2, E, stride) rows the fused scan reads
// (shaders/scan-constants.wgsl). Built once per model, not per forward.
import packCode from '../../shaders/scan-constants.wgsl?raw';
import weightElements from '../../shaders/weight-elements.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { makeDispatch, packParams, type Dispatch } from '../gpu/dispatch.js';
import type { BindingMap, Kernel } from '../gpu/bindings.js';
import type { WeightDType } from '../weights/weight-dtype.js';

/** shaders/scan-constants.wgsl's bindings, all used by its one entry point. */
const SCAN_CONSTANTS_BINDINGS = {
  params: 0, convW: 1, convB: 2, dtW: 3, dtScales: 4, dtB: 5, aLog: 6, dSkip: 7, packed: 8,
} as const satisfies BindingMap;

export const scanConstantsKernel: Kernel<keyof typeof SCAN_CONSTANTS_BINDINGS> = {
  name: 'scan-constants', code: `${weightElements}\n${packCode}`, bindings: SCAN_CONSTANTS_BINDINGS,
};

/** Floats per (dir, channel) row: conv taps, conv bias, dt bias, D, N values of A, R of dt_proj. */
export function scanConstantsStride(taps: number, N: number, R: number): number {
  return taps + 3 + N + R;
}

export interface ScanConstantsArgs {
  /** (2, E, taps) */ convWeight: GPUBuffer;
  /** (2, E) */ convBias: GPUBuffer;
  /** (2, E, R) stored as dtType; int8 rows scaled by dtScales (2, E) */
  dtWeight: GPUBuffer;
  dtType: WeightDType;
  dtScales?: GPUBuffer;
  /** (2, E) */ dtBias: GPUBuffer;
  /** (2, E, N) */ aLog: GPUBuffer;
  /** (2, E) */ d: GPUBuffer;
  /** (2, E, scanConstantsStride) output */
  packed: GPUBuffer;
  E: number;
  N: number;
  R: number;
  taps: number;
  label?: string;
}

const DTYPE_CODE: Record<WeightDType, number> = { f32: 0, f16: 1, int8: 2 };

export function scanConstantsDispatch(ctx: GpuContext, a: ScanConstantsArgs): Dispatch {
  for (const [n, v] of Object.entries({ E: a.E, N: a.N, R: a.R, taps: a.taps })) {
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`scan constants: ${n} must be a positive integer, got ${v}`);
  }
  if (a.dtType === 'int8' && !a.dtScales) throw new RangeError('scan constants: int8 dt_proj weights need their scales');
  const rows = 2 * a.E;
  const stride = scanConstantsStride(a.taps, a.N, a.R);
  const params = packParams([rows, a.taps, a.N, a.R, stride, DTYPE_CODE[a.dtType]]);
  return makeDispatch(ctx, scanConstantsKernel, params, {
    convW: a.convWeight, convB: a.convBias, dtW: a.dtWeight,
    // Read only for int8 dt_proj weights; any read-only buffer fills the binding otherwise.
    dtScales: a.dtScales ?? a.dtBias,
    dtB: a.dtBias, aLog: a.aLog, dSkip: a.d, packed: a.packed,
  }, [Math.ceil(rows / 64)], a.label ?? 'scan-constants');
}
