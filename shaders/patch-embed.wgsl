// Patch embedding straight into the layer-0 tokens (docs/model.md §2.1–2.2):
//   tokens[b, t] = Conv2d(image[b])[patch of t] + bias + pos_embed[t]   (t ≠ M//2)
//   tokens[b, M//2] = cls_token + pos_embed[M//2]
// with patch m at token m + (m ≥ M//2 ? 1 : 0), patches in row-major grid order.
//
// It is the tiled matmul of matmul.wgsl over token rows: X = im2col(image) is
// never stored; the tile loader gathers each patch's pixels (k = c·P² + py·P + px,
// the order of the flattened conv weight (D, 3, P, P)) straight from the image.
// The class-token row is an all-zero X row whose epilogue adds cls_token instead
// of the conv bias, so one dispatch writes every token and no second pass is needed.

struct Params {
  rows: u32,   // B·L token rows
  D: u32,
  K: u32,      // 3·P·P
  L: u32,      // tokens per image, M + 1
  cls: u32,    // class-token index M // 2
  H: u32,
  W: u32,
  P: u32,
  S: u32,      // stride
  gw: u32,     // patches per grid row
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<f32>;      // (B, 3, H, W)
@group(0) @binding(2) var<storage, read> weight: array<vec4f>;   // (D, 3·P·P)
@group(0) @binding(3) var<storage, read> bias: array<f32>;       // (D)
@group(0) @binding(4) var<storage, read> cls_token: array<f32>;  // (D)
@group(0) @binding(5) var<storage, read> pos: array<f32>;        // (L, D)
@group(0) @binding(6) var<storage, read_write> tokens: array<f32>;  // (B, L, D)

override BM: u32 = 64;
override BN: u32 = 64;
override BK: u32 = 16;
override TM: u32 = 4;
override TN: u32 = 4;
override VEC4: bool = true;  // K % 4 == 0 (P even): weight rows are 16-byte aligned

override THREADS_N: u32 = BN / TN;
override WG: u32 = (BM / TM) * (BN / TN);

var<workgroup> xs: array<vec4f, BK * BM / 4>;  // [k][m / 4]
var<workgroup> ws: array<vec4f, BK * BN / 4>;  // [k][n / 4]

// Index in `image` of pixel (c, py, px) of the patch at token t of image b, as
// a base (patch corner, channel 0) plus an offset that depends only on k.
fn patch_base(row: u32) -> u32 {
  let b = row / p.L;
  let t = row % p.L;
  let m = t - select(0u, 1u, t > p.cls);
  let gy = m / p.gw;
  let gx = m % p.gw;
  return b * 3u * p.H * p.W + gy * p.S * p.W + gx * p.S;
}

fn pixel_offset(k: u32) -> u32 {
  let c = k / (p.P * p.P);
  let r = k % (p.P * p.P);
  return c * p.H * p.W + (r / p.P) * p.W + r % p.P;
}

fn load_x4(row: u32, k: u32) -> vec4f {
  var v = vec4f(0.0);
  if (row >= p.rows || row % p.L == p.cls) { return v; }
  let base = patch_base(row);
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) { v[c] = image[base + pixel_offset(k + c)]; }
  }
  return v;
}

fn load_w4(col: u32, k: u32) -> vec4f {
  var v = vec4f(0.0);
  if (col >= p.D) { return v; }
  let base = col * p.K + k;
  if (VEC4) {
    if (k < p.K) { v = weight[base >> 2u]; }
    return v;
  }
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) { v[c] = weight[(base + c) >> 2u][(base + c) & 3u]; }
  }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row0 = wg.y * BM;
  let col0 = wg.x * BN;
  let tx = tid % THREADS_N;
  let ty = tid / THREADS_N;
  var acc: array<array<vec4f, 2>, 8>;  // row i, columns 4j..4j+3 (TM, TN ≤ 8)

  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var i = tid; i < BM * BK / 4u; i += WG) {
      let m = i / (BK / 4u);
      let kk = (i % (BK / 4u)) * 4u;
      let v = load_x4(row0 + m, k0 + kk);
      for (var c = 0u; c < 4u; c++) { let j = (kk + c) * BM + m; xs[j >> 2u][j & 3u] = v[c]; }
    }
    for (var i = tid; i < BN * BK / 4u; i += WG) {
      let n = i / (BK / 4u);
      let kk = (i % (BK / 4u)) * 4u;
      let v = load_w4(col0 + n, k0 + kk);
      for (var c = 0u; c < 4u; c++) { let j = (kk + c) * BN + n; ws[j >> 2u][j & 3u] = v[c]; }
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
    if (row >= p.rows) { break; }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + tx * TN + j;
      if (col >= p.D) { break; }
      store(row, col, acc[i][j >> 2u][j & 3u]);
    }
  }
}

// Adds the conv bias (or, on the class-token row, cls_token) and pos_embed.
fn store(row: u32, col: u32, acc: f32) {
  let t = row % p.L;
  let add = select(bias[col], cls_token[col], t == p.cls);
  tokens[row * p.D + col] = acc + add + pos[t * p.D + col];
}

// One invocation per output element, gathering its patch straight from the
// image: the path for software adapters, where the tiled kernel's barriers cost
// far more than they save (see the `direct` kernel in matmul.wgsl).
@compute @workgroup_size(16, 4)
fn direct(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let row = id.y;
  if (row >= p.rows || col >= p.D) { return; }
  var acc = 0.0;
  if (row % p.L != p.cls) {
    let base = patch_base(row);
    var k = col * p.K;  // weight index of (col, c, py, px)
    for (var c = 0u; c < 3u; c++) {
      for (var py = 0u; py < p.P; py++) {
        let src = base + c * p.H * p.W + py * p.W;
        for (var px = 0u; px < p.P; px++) {
          acc = fma(image[src + px], weight[k >> 2u][k & 3u], acc);
          k++;
        }
      }
    }
  }
  store(row, col, acc);
}
