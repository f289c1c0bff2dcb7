// The one name for how a model's weights are stored: the `dtype` option, the
// converter's target, one tensor's storage in a vim-webgpu file, a GPU buffer's
// element type and the matmul's weight type are all this type ('int8' is
// symmetric per-row int8 with f32 scales: quantize.ts). A source file's own
// element types (safetensors F64, BF16, I64…) are another thing: dtype.ts.
export type WeightDType = 'f32' | 'f16' | 'int8';

export const WEIGHT_DTYPES: readonly WeightDType[] = ['f32', 'f16', 'int8'];
