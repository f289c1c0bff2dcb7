// Depthwise conv1d over tokens (width K) + bias + SiLU, both directions of the
// bidirectional mixer in one dispatch (docs/model.md §2.4 b–c, §2.5), in original token order:
//
//   direction 0 (causal):      c[t,e] = bias_f[e] + Σ_k w_f[e,k] · x[t − (K−1) + k, e]
//   direction 1 (anti-causal): c[t,e] = bias_b[e] + Σ_k w_b[e,k] · x[t + (K−1) − k, e]
//   u = c · sigmoid(c); tokens outside 0..L−1 count as zero (the conv's padding).
//
// The anti-causal form is what the official flip → causal conv → flip computes,
// so no flipped copy of x is ever made.
//
// Layouts: xz (B, L, 2E) with x = columns 0..E−1; weight (2, E, K); bias (2, E);
// u (2, B, L, E). workgroup_id.z is the direction. One invocation computes one
// channel (conv_scalar) or four adjacent channels (conv_vec4, needs E % 4 == 0)
// of one token; neighbouring invocations take neighbouring channels so loads
// along e are coalesced, and the K-fold reuse of x across tokens hits the cache.

struct Params {
  B: u32,
  L: u32,
  E: u32,
  groups: u32,     // channel groups per token: E (scalar) or E / 4 (vec4)
  per_dir: u32,    // B · L · groups: invocations doing work per direction
  stride_y: u32,   // invocations per step of workgroup_id.y (grid split past 65535)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xz: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;

// vec4 views of xz, bias and u for conv_vec4 (one entry point uses one view).
@group(0) @binding(1) var<storage, read> xz4: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> u4: array<vec4f>;

override K: u32 = 4;
override WG: u32 = 64;

// The work item (b, t, group) of this invocation; valid only when i < per_dir.
struct Item {
  i: u32,
  b: u32,
  t: u32,
  g: u32,
}

fn item_of(gid: vec3u) -> Item {
  let i = gid.x + gid.y * p.stride_y;
  let g = i % p.groups;
  let bt = i / p.groups;
  return Item(i, bt / p.L, bt % p.L, g);
}

// Source token of tap k for the given direction, or −1 when it is padding.
fn source_token(dir: u32, t: u32, k: u32) -> i32 {
  let back = i32(K - 1u - k);  // distance from t; tap K−1 is the current token
  let s = select(i32(t) - back, i32(t) + back, dir == 1u);
  return select(-1, s, s >= 0 && s < i32(p.L));
}

fn silu(c: f32) -> f32 {
  // c / (1 + e^−c): for very negative c, e^−c overflows to +inf and the
  // result is −0, the correct limit.
  return c / (1.0 + exp(-c));
}

fn silu4(c: vec4f) -> vec4f {
  return c / (1.0 + exp(-c));
}

@compute @workgroup_size(WG)
fn conv_scalar(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let it = item_of(gid);
  if (it.i >= p.per_dir) { return; }
  let dir = wid.z;
  let e = it.g;
  let ch = dir * p.E + e;  // row of weight (2E, K) and index into bias (2E)
  var c = bias[ch];
  for (var k = 0u; k < K; k++) {
    let s = source_token(dir, it.t, k);
    if (s >= 0) {
      c += weight[ch * K + k] * xz[(it.b * p.L + u32(s)) * 2u * p.E + e];
    }
  }
  u[((dir * p.B + it.b) * p.L + it.t) * p.E + e] = silu(c);
}

@compute @workgroup_size(WG)
fn conv_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let it = item_of(gid);
  if (it.i >= p.per_dir) { return; }
  let dir = wid.z;
  let e = it.g * 4u;
  let ch = dir * p.E + e;
  let e4 = p.E / 4u;
  var c = bias4[ch / 4u];
  for (var k = 0u; k < K; k++) {
    let s = source_token(dir, it.t, k);
    if (s >= 0) {
      // Weights are (channel, tap): the four channels' tap k lie K apart.
      let w = vec4f(weight[ch * K + k], weight[(ch + 1u) * K + k],
                    weight[(ch + 2u) * K + k], weight[(ch + 3u) * K + k]);
      c += w * xz4[(it.b * p.L + u32(s)) * 2u * e4 + it.g];
    }
  }
  u4[((dir * p.B + it.b) * p.L + it.t) * e4 + it.g] = silu4(c);
}
