// The bidirectional selective scan of one Vim layer, fused with the mixer's
// conv1d + SiLU and dt_proj + softplus (src/ops/scan-chunked.ts): each
// direction writes ½·(C·h + D·u)·SiLU(z) into its half of y2, and out_proj sums
// the halves as it loads them. The per-channel constants it reads are packed
// once per model by src/ops/scan-constants.ts.
export {
  chunkedScanDispatches as scanDispatches, chooseScanSchedule, chunkedScanScratchBytes, defaultScanChunk,
  scanScratchBytes, type FusedScanArgs as ScanArgs, type ScanReduction, type ScanSchedule,
} from './scan-chunked.js';
export { scanConstantsDispatch, scanConstantsStride } from './scan-constants.js';
