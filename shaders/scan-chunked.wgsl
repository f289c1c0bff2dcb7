// Bidirectional selective scan, tiled and chunk-parallel (DESIGN.md "The scan").
//
// h_t = Ā_t ⊙ h_{t-1} + B̄u_t is a first-order linear recurrence, so the token
// axis can be cut into chunks of CHUNK tokens that are scanned independently
// and joined afterwards:
//   chunk_summary  (phase 1) per (dir, b, chunk, e, n): P = Π Ā over the chunk
//                  = exp(A·ΣΔ) (A is constant per (e, n)) and the chunk's end
//                  state when started from h = 0;
//   chunk_carry    (phase 2) per (dir, b, e, n): walks the summaries in scan
//                  order, h_in(next) = P·h_in + h_end, and overwrites each
//                  summary's state slot with the chunk's incoming state;
//   chunk_output   (phase 3) per (b, chunk, channel tile): re-scans the chunk
//                  from its incoming state for both directions and writes
//                  y = ½(o_fwd + o_bwd) once, o = (C·h + D·u)·SiLU(z).
// Ā = exp(Δ·A) and B̄u = Δ·B·u are formed on the fly from the chunk's Δ, u, B,
// C staged in workgroup memory; no per-token state ever reaches global memory.
//
// Invocation layout: LANES invocations per channel (one per state n; LANES is
// d_state rounded up to a power of two, lanes n >= N idle with h = 0) times
// TILE channels per workgroup. The C·h sum over n needs a reduction across the
// LANES invocations of a channel, done every token in one of two ways:
//  - shuffle (needs subgroups of at least LANES invocations): a butterfly of
//    subgroupShuffleXor, i.e. a subgroupAdd clustered to LANES lanes; channels
//    are laid out on subgroup lanes explicitly, so it relies neither on how
//    local_invocation_index maps to subgroups nor on the subgroup size;
//  - workgroup: each invocation writes h·C for LANES consecutive tokens to
//    workgroup memory, then after one barrier invocation n sums the row of
//    token n (a transposition: one store and one row read per token, two
//    barriers every LANES tokens).
// src/ops/scan-chunked.ts compiles one of them, or both with a run-time choice
// on subgroup_size when the adapter does not say how large its subgroups are,
// by keeping the text between `// @if <flag>`, `// @else` and `// @endif`
// (`enable subgroups` must only appear when the device has the feature, and the
// workgroup path's memory is wasted where subgroups suffice).
//
// Layouts (float32, token-major, batch outermost; see src/ops/scan-sequential.ts):
//   u, delta (2, B, L, E)   xdbl (2, B, L, R + 2N)   a_log (2, E, N)   d (2, E)
//   xz (B, L, 2E): z = columns E..2E-1          y (B, L, E)
//   scratch (2, B, nChunks, E, N) of vec2(P, h)
// The backward direction reads the same buffers with reversed token order.

// @if shuffle
enable subgroups;
// @endif

override CHUNK: u32 = 64u;  // tokens per chunk (T)
override LANES: u32 = 16u;  // invocations per channel: d_state rounded up to a power of two
override TILE: u32 = 16u;   // channels per workgroup

const LOG2E: f32 = 1.4426950408889634;

struct Params {
  batch: u32,
  len: u32,
  channels: u32,   // E
  nstate: u32,     // N <= LANES
  rank: u32,       // R: B_t starts at column R of xdbl
  chunks: u32,     // ceil(L / CHUNK)
  has_carry: u32,  // 0 when there is a single chunk: phases 1 and 2 are skipped
  carry_stride: u32,  // chunk_carry: invocations per row of workgroups
}

// Bindings are ordered so that each phase uses a prefix of them (the 'auto'
// layout of an entry point holds only what it uses): carry 1, summary 1-5, output 1-8.
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> scratch: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> u_in: array<f32>;
@group(0) @binding(3) var<storage, read> xdbl: array<f32>;
@group(0) @binding(4) var<storage, read> delta: array<f32>;
@group(0) @binding(5) var<storage, read> a_log: array<f32>;
@group(0) @binding(6) var<storage, read> d_skip: array<f32>;
@group(0) @binding(7) var<storage, read> xz: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;

var<workgroup> s_delta: array<f32, CHUNK * TILE>;  // [t][e]
var<workgroup> s_u: array<f32, CHUNK * TILE>;      // [t][e]
var<workgroup> s_b: array<f32, CHUNK * LANES>;     // [t][n]
var<workgroup> s_c: array<f32, CHUNK * LANES>;     // [t][n]
var<workgroup> s_y: array<f32, CHUNK * TILE>;      // [t][e]: o_fwd + o_bwd before the gate
// @if workgroup
// [token in block][e][n], rows padded to LANES + 1 so a row read spreads over banks.
var<workgroup> s_part: array<f32, LANES * TILE * (LANES + 1u)>;
// @endif
// @if shuffle
var<workgroup> s_use_shuffle: u32;
var<workgroup> s_subgroup_slots: atomic<u32>;
// @endif

// Index of (dir, b, chunk, e, n) in the summary scratch.
fn summary_index(dir: u32, b: u32, c: u32, e: u32, n: u32) -> u32 {
  return (((dir * p.batch + b) * p.chunks + c) * p.channels + e) * p.nstate + n;
}

// Copies the chunk's Δ and u (channels e0..e0+TILE) and B (and C) into
// workgroup memory with coalesced loads; out-of-range entries become 0, which
// leaves idle lanes and channels with h = 0.
fn stage_chunk(dir: u32, b: u32, t0: u32, count: u32, e0: u32, lid: u32, with_c: bool) {
  let E = p.channels;
  let N = p.nstate;
  let plane = (dir * p.batch + b) * p.len + t0;  // first row of this chunk
  for (var i = lid; i < CHUNK * TILE; i += TILE * LANES) {
    let t = i / TILE;
    let e = e0 + i % TILE;
    var dt = 0.0;
    var x = 0.0;
    if (t < count && e < E) {
      let g = (plane + t) * E + e;
      dt = delta[g];
      x = u_in[g];
    }
    s_delta[i] = dt;
    s_u[i] = x;
  }
  let width = p.rank + 2u * N;
  for (var i = lid; i < CHUNK * LANES; i += TILE * LANES) {
    let t = i / LANES;
    let n = i % LANES;
    var bv = 0.0;
    var cv = 0.0;
    if (t < count && n < N) {
      let row = (plane + t) * width + p.rank;
      bv = xdbl[row + n];
      if (with_c) { cv = xdbl[row + N + n]; }
    }
    s_b[i] = bv;
    s_c[i] = cv;
  }
}

// A·log2(e) for (dir, e, n), so that Ā = exp2(Δ·a2); 0 for idle lanes (Ā = 1, B = 0).
fn scaled_a(dir: u32, e: u32, n: u32) -> f32 {
  if (e >= p.channels || n >= p.nstate) { return 0.0; }
  return -exp(a_log[(dir * p.channels + e) * p.nstate + n]) * LOG2E;
}

@compute @workgroup_size(TILE * LANES)
fn chunk_summary(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let dir = wg.z / p.batch;
  let b = wg.z % p.batch;
  // Each direction skips the chunk it visits last: no later chunk needs its
  // summary. Forward: chunks 0..n-2; backward: chunks 1..n-1.
  let c = wg.y + dir;
  let t0 = c * CHUNK;
  let count = min(CHUNK, p.len - t0);
  let e0 = wg.x * TILE;
  stage_chunk(dir, b, t0, count, e0, lid, false);
  workgroupBarrier();

  let el = lid / LANES;
  let n = lid % LANES;
  let e = e0 + el;
  let a2 = scaled_a(dir, e, n);
  var h = 0.0;
  var dsum = 0.0;
  for (var k = 0u; k < count; k++) {
    let t = select(k, count - 1u - k, dir == 1u);
    let dt = s_delta[t * TILE + el];
    h = exp2(dt * a2) * h + dt * s_b[t * LANES + n] * s_u[t * TILE + el];
    dsum += dt;
  }
  if (e < p.channels && n < p.nstate) {
    // Π_t exp(Δ_t·A) = exp(A·Σ_t Δ_t).
    scratch[summary_index(dir, b, c, e, n)] = vec2<f32>(exp2(a2 * dsum), h);
  }
}

@compute @workgroup_size(256)
fn chunk_carry(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * p.carry_stride + gid.x;
  let per_plane = p.channels * p.nstate;
  if (i >= 2u * p.batch * per_plane) { return; }
  let plane = i / per_plane;  // dir * B + b
  let dir = plane / p.batch;
  let en = i % per_plane;
  var h = 0.0;  // the state entering the chunk
  for (var k = 0u; k < p.chunks; k++) {
    let c = select(k, p.chunks - 1u - k, dir == 1u);
    let at = (plane * p.chunks + c) * per_plane + en;
    let s = scratch[at];  // the last chunk visited has no summary: s is unused there
    scratch[at] = vec2<f32>(s.x, h);
    h = s.x * h + s.y;
  }
}

// @if shuffle
// Sum of v over the LANES invocations of a channel; every one of them gets it.
fn lane_sum(v: f32) -> f32 {
  var s = v;
  for (var m = LANES / 2u; m > 0u; m = m / 2u) {
    s += subgroupShuffleXor(s, m);
  }
  return s;
}

// @endif
@compute @workgroup_size(TILE * LANES)
fn chunk_output(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
// @if shuffle
  @builtin(subgroup_invocation_id) sg_lane: u32,
  @builtin(subgroup_size) sg_size: u32,
// @endif
) {
  let b = wg.z;
  let c = wg.y;
  let e0 = wg.x * TILE;
  let t0 = c * CHUNK;
  let count = min(CHUNK, p.len - t0);

  // Which channel (el) and state (n) this invocation owns.
  var el = lid / LANES;
  var n = lid % LANES;
// @if shuffle
// @if workgroup
  // Both paths compiled: shuffle where this workgroup's subgroups are wide enough.
  if (lid == 0u) { s_use_shuffle = select(0u, 1u, sg_size >= LANES); }
  let use_shuffle = workgroupUniformLoad(&s_use_shuffle) == 1u;
// @else
  let use_shuffle = true;
// @endif
  if (use_shuffle) {
    // Number the subgroups, then give each channel LANES consecutive lanes of
    // one subgroup, so the xor butterfly never mixes channels.
    var slot = 0u;
    if (sg_lane == 0u) { slot = atomicAdd(&s_subgroup_slots, 1u); }
    slot = subgroupBroadcast(slot, 0u);
    let v = slot * sg_size + sg_lane;
    el = v / LANES;
    n = v % LANES;
  }
// @else
  let use_shuffle = false;
// @endif
  let e = e0 + el;
  let blocks = (count + LANES - 1u) / LANES;

  for (var dir = 0u; dir < 2u; dir++) {
    workgroupBarrier();  // the previous direction is done with the staged chunk
    stage_chunk(dir, b, t0, count, e0, lid, true);
    workgroupBarrier();

    let a2 = scaled_a(dir, e, n);
    var d = 0.0;
    var h = 0.0;
    if (e < p.channels) {
      d = d_skip[dir * p.channels + e];
      if (p.has_carry == 1u && n < p.nstate) { h = scratch[summary_index(dir, b, c, e, n)].y; }
    }
    // Blocks of LANES tokens, visited in scan order; token (block, s) of a block
    // is reduced by lane s, in both directions (so s_y needs no barrier between them).
    for (var kb = 0u; kb < blocks; kb++) {
      let blk = select(kb, blocks - 1u - kb, dir == 1u);
      for (var k = 0u; k < LANES; k++) {
        let s = select(k, LANES - 1u - k, dir == 1u);
        let t = blk * LANES + s;
        var part = 0.0;
        if (t < count) {
          let dt = s_delta[t * TILE + el];
          h = exp2(dt * a2) * h + dt * s_b[t * LANES + n] * s_u[t * TILE + el];
          part = h * s_c[t * LANES + n];
        }
        if (use_shuffle) {
// @if shuffle
          let ch = lane_sum(part);
          if (n == s && t < count) {
            let o = ch + d * s_u[t * TILE + el];
            s_y[t * TILE + el] = select(s_y[t * TILE + el] + o, o, dir == 0u);
          }
// @endif
        } else {
// @if workgroup
          s_part[(s * TILE + el) * (LANES + 1u) + n] = part;
// @endif
        }
      }
      if (!use_shuffle) {
// @if workgroup
        workgroupBarrier();
        let t = blk * LANES + n;
        if (t < count) {
          var ch = 0.0;
          let row = (n * TILE + el) * (LANES + 1u);
          for (var j = 0u; j < LANES; j++) { ch += s_part[row + j]; }
          let o = ch + d * s_u[t * TILE + el];
          s_y[t * TILE + el] = select(s_y[t * TILE + el] + o, o, dir == 0u);
        }
        workgroupBarrier();  // s_part is reused by the next block
// @endif
      }
    }
  }
  workgroupBarrier();

  // Epilogue: gate with SiLU(z) and average the two directions; y written once.
  let E = p.channels;
  for (var i = lid; i < count * TILE; i += TILE * LANES) {
    let t = i / TILE;
    let ec = e0 + i % TILE;
    if (ec < E) {
      let bt = b * p.len + t0 + t;
      let z = xz[bt * 2u * E + E + ec];
      y[bt * E + ec] = 0.5 * s_y[i] * (z / (1.0 + exp(-z)));
    }
  }
}
