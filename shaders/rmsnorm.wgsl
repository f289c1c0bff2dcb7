// Fused residual add + RMSNorm (docs/model.md §2.3), one workgroup per token row.
//
//   first: normed = RMSNorm(residual) · w            (block 0: residual = tokens)
//   add:   residual ← residual + hidden (in place),  normed = RMSNorm(residual) · w
//   RMSNorm(x) = x / sqrt(mean(x²) + eps)
//
// Entry points: first_scalar, add_scalar, first_vec4, add_vec4. The vec4 ones
// need dim % 4 == 0 and read/write 16 bytes per access (memory-bound kernel).
// The sum of squares is reduced by reduce_sum(), defined in one of the two
// variant sections at the end of this file; src/ops/rmsnorm.ts keeps exactly one
// of them (and prepends `enable subgroups;` for the subgroup one), because a
// module that mentions subgroup builtins does not compile on devices without them.

struct Params {
  rows: u32,
  dim: u32,       // elements per row (D)
  groups_x: u32,  // workgroups along x; rows beyond 65535 continue along y
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> residual: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> normed: array<f32>;
@group(0) @binding(4) var<storage, read> hidden: array<f32>;   // add mode only

// The same bindings seen as vec4: an entry point uses either these or the
// scalar views above, never both, so the binding numbers may repeat.
@group(0) @binding(1) var<storage, read_write> residual4: array<vec4f>;
@group(0) @binding(2) var<storage, read> weight4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> normed4: array<vec4f>;
@group(0) @binding(4) var<storage, read> hidden4: array<vec4f>;

// Invocations per workgroup; a power of two (the tree reduction halves it).
override WG: u32 = 64;

fn row_of(wid: vec3u) -> u32 {
  return wid.x + wid.y * p.groups_x;
}

// 1 / sqrt(mean + eps), from the workgroup's total sum of squares.
fn inv_rms(sum_sq: f32) -> f32 {
  return 1.0 / sqrt(sum_sq / f32(p.dim) + p.eps);
}

fn sum4(v: vec4f) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

@compute @workgroup_size(WG)
fn first_scalar(@builtin(workgroup_id) wid: vec3u, lanes: Lanes) {
  let row = row_of(wid);
  if (row >= p.rows) { return; }  // uniform: the whole workgroup leaves together
  let base = row * p.dim;
  var ss = 0.0;
  for (var i = lanes.lid; i < p.dim; i += WG) {
    let v = residual[base + i];
    ss += v * v;
  }
  let inv = inv_rms(reduce_sum(ss, lanes));
  for (var i = lanes.lid; i < p.dim; i += WG) {
    normed[base + i] = residual[base + i] * inv * weight[i];
  }
}

@compute @workgroup_size(WG)
fn add_scalar(@builtin(workgroup_id) wid: vec3u, lanes: Lanes) {
  let row = row_of(wid);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var ss = 0.0;
  for (var i = lanes.lid; i < p.dim; i += WG) {
    let v = residual[base + i] + hidden[base + i];
    residual[base + i] = v;  // re-read below by this same invocation only
    ss += v * v;
  }
  let inv = inv_rms(reduce_sum(ss, lanes));
  for (var i = lanes.lid; i < p.dim; i += WG) {
    normed[base + i] = residual[base + i] * inv * weight[i];
  }
}

@compute @workgroup_size(WG)
fn first_vec4(@builtin(workgroup_id) wid: vec3u, lanes: Lanes) {
  let row = row_of(wid);
  if (row >= p.rows) { return; }
  let n4 = p.dim / 4u;
  let base = row * n4;
  var ss = 0.0;
  for (var i = lanes.lid; i < n4; i += WG) {
    let v = residual4[base + i];
    ss += sum4(v * v);
  }
  let inv = inv_rms(reduce_sum(ss, lanes));
  for (var i = lanes.lid; i < n4; i += WG) {
    normed4[base + i] = residual4[base + i] * inv * weight4[i];
  }
}

@compute @workgroup_size(WG)
fn add_vec4(@builtin(workgroup_id) wid: vec3u, lanes: Lanes) {
  let row = row_of(wid);
  if (row >= p.rows) { return; }
  let n4 = p.dim / 4u;
  let base = row * n4;
  var ss = 0.0;
  for (var i = lanes.lid; i < n4; i += WG) {
    let v = residual4[base + i] + hidden4[base + i];
    residual4[base + i] = v;
    ss += sum4(v * v);
  }
  let inv = inv_rms(reduce_sum(ss, lanes));
  for (var i = lanes.lid; i < n4; i += WG) {
    normed4[base + i] = residual4[base + i] * inv * weight4[i];
  }
}

var<workgroup> partial: array<f32, WG>;

// ---- variant: workgroup ----
// Tree reduction in workgroup memory: log2(WG) halving steps.

struct Lanes {
  @builtin(local_invocation_index) lid: u32,
}

fn reduce_sum(v: f32, lanes: Lanes) -> f32 {
  partial[lanes.lid] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lanes.lid < half) {
      partial[lanes.lid] += partial[lanes.lid + half];
    }
    workgroupBarrier();
  }
  // workgroupUniformLoad: every invocation gets the total, and the load is a
  // barrier, so the caller may not race ahead and reuse `partial`.
  return workgroupUniformLoad(&partial[0]);
}

// ---- variant: subgroups ----
// One barrier instead of log2(WG): each invocation publishes its partial sum;
// then every subgroup sums all WG slots (lane j takes slots j, j + size, ...)
// and finishes with subgroupAdd. This relies only on lane ids being 0..n−1
// within a subgroup, not on how subgroups map to local_invocation_index
// (which WGSL leaves unspecified).

struct Lanes {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32,
}

fn reduce_sum(v: f32, lanes: Lanes) -> f32 {
  partial[lanes.lid] = v;
  workgroupBarrier();
  var s = 0.0;
  for (var j = lanes.lane; j < WG; j += lanes.size) {
    s += partial[j];
  }
  return subgroupAdd(s);
}
