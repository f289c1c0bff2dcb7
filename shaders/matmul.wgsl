// Tiled matmul Y = X·Wᵀ (+ bias) (→ softplus), with W in PyTorch Linear layout
// (N, K) row-major, and X optionally formed where it is loaded (PROLOGUE), so
// that the Vim block needs no separate norm, conv1d or gate dispatch:
//   0 none      X as stored;
//   1 rmsnorm   X = RMSNorm(res [+ hid]) · w_norm (in_proj). In add mode the sum
//               res + hid is also written to res_out by the workgroups of
//               column tile 0 (res_out ≠ res: other tiles still read res);
//   2 conv-silu X = SiLU(conv1d(x)) of one direction (x_proj; group = direction):
//               the causal (group 0) or anti-causal (group 1) depthwise conv of
//               the x half of in_proj's output, recomputed from TAPS rows;
//   3 sum2      X = X[i] + X[i + pair] (out_proj: the two scan directions).
// Rows, columns, K and the groups keep their meaning; only the X reads change.
// The aux bindings hold what a prologue needs (hidden, norm weight, residual out;
// conv weight, conv bias) and are bound to any buffer otherwise. Both operands are contiguous along K, so a tile of either is
// read the same way: rows of the tile, K along the fast axis.
//
// Each workgroup owns a BM×BN tile of Y for one group (workgroup_id.z); each
// invocation owns a TM×TN register block of it. The K loop stages BK-wide
// slices of X and W in workgroup memory, stored k-major ([k][m], [k][n]) so the
// inner loop reads a thread's TM rows and TN columns as whole vec4s.
//
// X and W are bound as array<vec4f>: with VEC4 (every row start 16-byte aligned
// and K % 4 == 0) a tile load is one vec4 per 4 k; without it (K = 2, 13, a
// column slice at an odd offset) the same buffers are read one component at a
// time. One binding type for both paths keeps one module and one bind layout.
//
// W may also be stored reduced (WDTYPE, see weights/FORMAT.md): f16, two per
// u32 word (unpack2x16float, so no shader-f16 feature is needed), or int8, four
// per word, with one f32 scale per row of W (= per output column). Elements are
// expanded to f32 where they are loaded (the tile loads, or the direct kernel's
// K loop); the int8 scale is applied once per output in store(), since
// Σ_k x_k·(q_nk·s_n) = s_n·Σ_k x_k·q_nk. W is bound as raw words (array<vec4u>)
// for every type and bitcast for f32, which is free and keeps one bind layout;
// reading int8 bytes through an f32 view could canonicalize NaN patterns.

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32,          // row stride of X in elements (K for a plain matrix)
  ldy: u32,          // row stride of Y
  x_offset: u32,     // element offsets of the first row / first bias entry
  w_offset: u32,
  y_offset: u32,
  bias_offset: u32,
  gs_x: u32,         // per-group strides (group = workgroup_id.z), in elements
  gs_w: u32,
  gs_bias: u32,
  gs_y: u32,
  scale_offset: u32, // first scale of group 0 (WDTYPE 2)
  gs_scale: u32,
  seq: u32,          // conv-silu: tokens per image (rows are (image, token))
  taps: u32,         // conv-silu: conv width
  pair: u32,         // sum2: element offset of the second summand
  eps: f32,          // rmsnorm
  add: u32,          // rmsnorm: 1 = add mode (res + hid, written to res_out)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4u>;  // raw words; see WDTYPE
// Bound to any read-only buffer when EPILOGUE == 0 (it is never read then).
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
// Per-row scales of an int8 W; bound to any read-only buffer otherwise.
@group(0) @binding(5) var<storage, read> scales: array<f32>;
// Prologue operands (see the top): rmsnorm: hid, w_norm, res_out; conv-silu:
// conv weight (2, K, TAPS), conv bias (2, K).
@group(0) @binding(6) var<storage, read> aux0: array<vec4f>;
@group(0) @binding(7) var<storage, read> aux1: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> aux2: array<vec4f>;

override BM: u32 = 64;   // tile rows (of X and Y)
override BN: u32 = 64;   // tile columns (rows of W)
override BK: u32 = 16;   // K slice per stage; multiple of 4
override TM: u32 = 4;    // register block rows: 4 or 8
override TN: u32 = 4;    // register block columns: 4 or 8
override VEC4: bool = true;
override EPILOGUE: u32 = 0u;  // 0: none, 1: + bias, 2: + bias then softplus
override WDTYPE: u32 = 0u;    // storage of W: 0 f32, 1 f16 (2 per word), 2 int8 (4 per word, scaled rows)
override PROLOGUE: u32 = 0u;  // how X is formed: 0 none, 1 rmsnorm, 2 conv-silu, 3 sum2 (see the top)

override THREADS_N: u32 = BN / TN;
override WG: u32 = (BM / TM) * (BN / TN);

var<workgroup> xs: array<vec4f, BK * BM / 4>;  // [k][m / 4]
var<workgroup> ws: array<vec4f, BK * BN / 4>;  // [k][n / 4]
var<workgroup> s_inv: array<f32, BM>;          // rmsnorm: 1 / rms of the tile's rows

fn x_at(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }
fn w_word(i: u32) -> u32 { return w[i >> 2u][i & 3u]; }

// Element i of W as f32 (before the int8 row scale); i8x4 and the decoding are
// in shaders/weight-elements.wgsl, which src/ops/matmul.ts prepends.
fn w_at(i: u32) -> f32 { return weight_from_word(w_word(weight_word_index(i, WDTYPE)), i, WDTYPE); }

// Elements i..i+3 of W, i a multiple of 4: one vec4 of f32, two f16 words or one int8 word.
fn w4_at(i: u32) -> vec4f {
  if (WDTYPE == 1u) {
    let q = w[i >> 3u];
    let h = select(q.xy, q.zw, (i & 4u) != 0u);
    return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));
  }
  if (WDTYPE == 2u) { return i8x4(w_word(i >> 2u)); }
  return bitcast<vec4f>(w[i >> 2u]);
}

// Four consecutive elements of a flat f32 array bound as vec4s, at any alignment.
fn x4_at(i: u32) -> vec4f {
  if (VEC4) { return x[i >> 2u]; }
  return vec4f(x_at(i), x_at(i + 1u), x_at(i + 2u), x_at(i + 3u));
}
fn aux0_at(i: u32) -> f32 { return aux0[i >> 2u][i & 3u]; }
fn aux1_at(i: u32) -> f32 { return aux1[i >> 2u][i & 3u]; }
fn aux0_4(i: u32) -> vec4f {
  if (VEC4) { return aux0[i >> 2u]; }
  return vec4f(aux0_at(i), aux0_at(i + 1u), aux0_at(i + 2u), aux0_at(i + 3u));
}
fn aux1_4(i: u32) -> vec4f {
  if (VEC4) { return aux1[i >> 2u]; }
  return vec4f(aux1_at(i), aux1_at(i + 1u), aux1_at(i + 2u), aux1_at(i + 3u));
}
fn store_res4(i: u32, v: vec4f, live: vec4<bool>) {
  if (VEC4) { aux2[i >> 2u] = v; return; }
  for (var c = 0u; c < 4u; c++) { if (live[c]) { aux2[(i + c) >> 2u][(i + c) & 3u] = v[c]; } }
}

// 1 / sqrt(mean(v²) + eps) of row `row` of res [+ hid] (rmsnorm prologue).
fn inv_rms_of(x_base: u32, row: u32) -> f32 {
  let base = x_base + row * p.lda;
  var ss = vec4f(0.0);
  for (var k = 0u; k < p.K; k += 4u) {
    var v = x4_at(base + k);
    if (p.add == 1u) { v += aux0_4(base + k); }
    ss = fma(v, select(vec4f(0.0), v, vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.K)), ss);
  }
  return 1.0 / sqrt(((ss.x + ss.y) + (ss.z + ss.w)) / f32(p.K) + p.eps);
}

// X[g][row][k..k+3] as the prologue forms it; zeros past K. `inv` is the row's
// 1/rms (rmsnorm); `write_res` stores res + hid once (rmsnorm, add mode).
fn x_value4(g: u32, row: u32, k: u32, inv: f32, write_res: bool) -> vec4f {
  let live = vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.K);
  let x_base = p.x_offset + g * p.gs_x;
  var v = vec4f(0.0);
  if (PROLOGUE == 0u) {
    if (VEC4) {
      if (k < p.K) { v = x[(x_base + row * p.lda + k) >> 2u]; }
      return v;
    }
    v = x4_at(x_base + row * p.lda + k);
  } else if (PROLOGUE == 1u) {
    let i = x_base + row * p.lda + k;
    v = x4_at(i);
    if (p.add == 1u) {
      v += aux0_4(i);
      if (write_res) { store_res4(i, v, live); }
    }
    v *= inv * aux1_4(k);
  } else if (PROLOGUE == 2u) {
    // Row (image b, token t); tap j reads token t ∓ (TAPS−1−j); padding outside 0..seq−1.
    let b = row / p.seq;
    let t = row % p.seq;
    let ch = g * p.K + k;  // first of the 4 channels in the (2, K) bias / (2, K, TAPS) weight
    var c = aux1_4(ch);
    for (var j = 0u; j < p.taps; j++) {
      let back = p.taps - 1u - j;
      var s = t + back;
      if (g == 0u) { s = t - back; }
      if (select(t >= back, s < p.seq, g == 1u)) {
        let w = vec4f(aux0_at(ch * p.taps + j), aux0_at((ch + 1u) * p.taps + j),
                      aux0_at((ch + 2u) * p.taps + j), aux0_at((ch + 3u) * p.taps + j));
        c = fma(w, x4_at(x_base + (b * p.seq + s) * p.lda + k), c);
      }
    }
    v = silu4(c);
  } else {
    let i = x_base + row * p.lda + k;
    v = x4_at(i) + x4_at(i + p.pair);
  }
  return select(vec4f(0.0), v, live);
}

// Four consecutive k of one row of W (zeros past K or past the last row).
fn load_w4(row_ok: bool, base: u32, k: u32) -> vec4f {
  var v = vec4f(0.0);
  if (!row_ok) { return v; }
  if (VEC4) {
    if (k < p.K) { v = w4_at(base + k); }
    return v;
  }
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) { v[c] = w_at(base + k + c); }
  }
  return v;
}

fn store_k_major_x(m: u32, kk: u32, v: vec4f) {
  for (var c = 0u; c < 4u; c++) {
    let i = (kk + c) * BM + m;
    xs[i >> 2u][i & 3u] = v[c];
  }
}

fn store_k_major_w(n: u32, kk: u32, v: vec4f) {
  for (var c = 0u; c < 4u; c++) {
    let i = (kk + c) * BN + n;
    ws[i >> 2u][i & 3u] = v[c];
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let g = wg.z;
  let row0 = wg.y * BM;
  let col0 = wg.x * BN;
  let tx = tid % THREADS_N;   // which TN columns
  let ty = tid / THREADS_N;   // which TM rows
  let x_base = p.x_offset + g * p.gs_x;
  let w_base = p.w_offset + g * p.gs_w;

  // Register block: acc[i][j] holds row i, columns 4j..4j+3 (TM, TN ≤ 8).
  var acc: array<array<vec4f, 2>, 8>;

  if (PROLOGUE == 1u) {
    for (var m = tid; m < BM; m += WG) {
      var inv = 0.0;
      if (row0 + m < p.M) { inv = inv_rms_of(x_base, row0 + m); }
      s_inv[m] = inv;
    }
    workgroupBarrier();
  }
  let write_res = PROLOGUE == 1u && wg.x == 0u;

  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // Stage X[row0.., k0..] and W[col0.., k0..]: each quad of k is one load4.
    for (var i = tid; i < BM * BK / 4u; i += WG) {
      let m = i / (BK / 4u);
      let kk = (i % (BK / 4u)) * 4u;
      let row = row0 + m;
      var v = vec4f(0.0);
      if (row < p.M) { v = x_value4(g, row, k0 + kk, s_inv[m], write_res); }
      store_k_major_x(m, kk, v);
    }
    for (var i = tid; i < BN * BK / 4u; i += WG) {
      let n = i / (BK / 4u);
      let kk = (i % (BK / 4u)) * 4u;
      let col = col0 + n;
      store_k_major_w(n, kk, load_w4(col < p.N, w_base + col * p.K, k0 + kk));
    }
    workgroupBarrier();

    for (var k = 0u; k < BK; k++) {
      var b: array<vec4f, 2>;
      for (var j = 0u; j < TN / 4u; j++) { b[j] = ws[k * (BN / 4u) + tx * (TN / 4u) + j]; }
      for (var iv = 0u; iv < TM / 4u; iv++) {
        let a = xs[k * (BM / 4u) + ty * (TM / 4u) + iv];
        for (var c = 0u; c < 4u; c++) {
          for (var j = 0u; j < TN / 4u; j++) {
            acc[iv * 4u + c][j] = fma(vec4f(a[c]), b[j], acc[iv * 4u + c][j]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let row = row0 + ty * TM + i;
    if (row >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + tx * TN + j;
      if (col >= p.N) { break; }
      store(g, row, col, acc[i][j >> 2u][j & 3u]);
    }
  }
}

// Epilogue and store of one output element.
fn store(g: u32, row: u32, col: u32, acc: f32) {
  var v = acc;
  if (WDTYPE == 2u) { v *= scales[p.scale_offset + g * p.gs_scale + col]; }
  if (EPILOGUE >= 1u) { v += bias[p.bias_offset + g * p.gs_bias + col]; }
  if (EPILOGUE == 2u) { v = softplus(v); }
  y[p.y_offset + g * p.gs_y + row * p.ldy + col] = v;
}

// One invocation per output element: a plain dot product of an X row and a W
// row, straight from global memory. It is the small-M variant (a handful of
// rows, e.g. the head at batch 1, leaves most of a tile idle) and the path for
// software adapters: SwiftShader runs invocations as the SIMD lanes of a CPU
// core, where workgroup barriers cost more than the staging saves (about 3×
// faster than the tiled kernel there).
@compute @workgroup_size(16, 4)
fn direct(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let row = id.y;
  let g = id.z;
  if (row >= p.M || col >= p.N) { return; }
  let wr = p.w_offset + g * p.gs_w + col * p.K;
  var acc = vec4f(0.0);
  if (PROLOGUE == 0u) {
    let xr = p.x_offset + g * p.gs_x + row * p.lda;
    if (VEC4) {
      for (var k = 0u; k < p.K; k += 4u) { acc = fma(x[(xr + k) >> 2u], w4_at(wr + k), acc); }
    } else {
      for (var k = 0u; k < p.K; k++) { acc.x = fma(x_at(xr + k), w_at(wr + k), acc.x); }
    }
  } else {
    // Each invocation forms its row of X itself (the norm's 1/rms too): no staging.
    var inv = 0.0;
    if (PROLOGUE == 1u) { inv = inv_rms_of(p.x_offset + g * p.gs_x, row); }
    for (var k = 0u; k < p.K; k += 4u) {
      var wv = vec4f(0.0);
      if (VEC4) { wv = w4_at(wr + k); } else { wv = load_w4(true, wr, k); }
      acc = fma(x_value4(g, row, k, inv, PROLOGUE == 1u && col == 0u), wv, acc);
    }
  }
  store(g, row, col, (acc.x + acc.y) + (acc.z + acc.w));
}

// One invocation per (row, block of ROW_COLS columns): the direct kernel for the
// prologue matmuls on software adapters. The direct kernel forms X once per
// output, which a prologue makes costly (each in_proj output would recompute its
// row's 1/rms, each x_proj output its row's conv1d); here X is formed once per
// ROW_COLS outputs, and with ROW_COLS ≥ N (x_proj) once per row.
override ROW_COLS: u32 = 64u;  // at most 64 (the accumulators are a private array)

@compute @workgroup_size(64)
fn direct_rows(@builtin(global_invocation_id) id: vec3u) {
  let row = id.x;
  let col0 = id.y * ROW_COLS;
  let g = id.z;
  if (row >= p.M || col0 >= p.N) { return; }
  let cols = min(ROW_COLS, p.N - col0);
  let w_base = p.w_offset + g * p.gs_w + col0 * p.K;
  var inv = 0.0;
  if (PROLOGUE == 1u) { inv = inv_rms_of(p.x_offset + g * p.gs_x, row); }
  var acc: array<f32, 64>;
  for (var k = 0u; k < p.K; k += 4u) {
    let xv = x_value4(g, row, k, inv, PROLOGUE == 1u && col0 == 0u);
    for (var j = 0u; j < cols; j++) { acc[j] += dot(xv, load_w4(true, w_base + j * p.K, k)); }
  }
  for (var j = 0u; j < cols; j++) { store(g, row, col0 + j, acc[j]); }
}
