/** A float32 tensor in host memory, row-major (C order), as stored in checkpoints. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameter name (official state_dict key) → tensor. Insertion order = file order. */
export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}
