/** The k largest values of a row with their indices, largest first (ties: lower index first). */
export function topK(row: ArrayLike<number>, k: number): Array<{ index: number; value: number }> {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((a, b) => (row[b] - row[a]) || (a - b));
  return idx.slice(0, k).map((index) => ({ index, value: row[index] }));
}

/** Softmax of a row, computed stably in float64. */
export function softmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  const out = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += (out[i] = Math.exp(row[i] - max));
  for (let i = 0; i < row.length; i++) out[i] /= sum;
  return out;
}
