// Packs the per-channel constants of one layer's scan into the rows that
// shaders/scan-chunked.wgsl reads (one row of `stride` floats per (dir, e)):
//   [conv weight (taps), conv bias, dt bias, D, A·log2(e) (N), dt_proj row (R)]
// Run once per model, so the scan binds one small buffer instead of six, finds
// A = −exp(A_log) already exponentiated, and reads dt_proj as f32 whatever its
// storage (shaders/weight-elements.wgsl, prepended by src/ops/scan-constants.ts).

struct Params {
  rows: u32,     // 2·E
  taps: u32,
  nstate: u32,
  rank: u32,
  stride: u32,   // taps + 3 + nstate + rank
  dtype: u32,    // storage of dt_proj: 0 f32, 1 f16, 2 int8 (scaled per row)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> conv_w: array<f32>;  // (2, E, taps)
@group(0) @binding(2) var<storage, read> conv_b: array<f32>;  // (2, E)
@group(0) @binding(3) var<storage, read> dt_w: array<u32>;    // (2, E, R) as words
@group(0) @binding(4) var<storage, read> dt_scales: array<f32>;  // (2, E); int8 only
@group(0) @binding(5) var<storage, read> dt_b: array<f32>;    // (2, E)
@group(0) @binding(6) var<storage, read> a_log: array<f32>;   // (2, E, N)
@group(0) @binding(7) var<storage, read> d_skip: array<f32>;  // (2, E)
@group(0) @binding(8) var<storage, read_write> packed: array<f32>;

const LOG2E: f32 = 1.4426950408889634;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let row = id.x;  // dir · E + e
  if (row >= p.rows) { return; }
  let o = row * p.stride;
  for (var j = 0u; j < p.taps; j++) { packed[o + j] = conv_w[row * p.taps + j]; }
  packed[o + p.taps] = conv_b[row];
  packed[o + p.taps + 1u] = dt_b[row];
  packed[o + p.taps + 2u] = d_skip[row];
  for (var n = 0u; n < p.nstate; n++) { packed[o + p.taps + 3u + n] = -exp(a_log[row * p.nstate + n]) * LOG2E; }
  var scale = 1.0;
  if (p.dtype == 2u) { scale = dt_scales[row]; }
  for (var r = 0u; r < p.rank; r++) {
    let i = row * p.rank + r;
    packed[o + p.taps + 3u + p.nstate + r] = weight_from_word(dt_w[weight_word_index(i, p.dtype)], i, p.dtype) * scale;
  }
}
