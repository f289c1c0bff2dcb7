// Bidirectional selective scan, tiled and chunk-parallel (docs/design.md §7).
//
// h_t = Ā_t ⊙ h_{t-1} + B̄u_t is a linear recurrence, so the tokens are cut into
// chunks of CHUNK, scanned independently and joined afterwards:
//   chunk_summary (1) per (dir, b, chunk, e, n): P = Π Ā = exp(A·ΣΔ) (A is fixed
//                 per (e, n)) and the chunk's end state started from h = 0;
//   chunk_carry   (2) per (dir, b, e, n): h_in(next) = P·h_in + h_end in scan
//                 order; each summary's state slot becomes the chunk's h_in;
//   chunk_output  (3) per (b, chunk, channel tile): re-scans the chunk from h_in
//                 in both directions, writes y = ½(o_fwd + o_bwd) once,
//                 o = (C·h + D·u)·SiLU(z).
// Ā = exp(Δ·A) and B̄u = (Δ·u)·B are formed on the fly from the chunk's Δ, Δ·u,
// B, C staged in workgroup memory; no per-token state reaches global memory.
//
// Each invocation holds 4 states of one channel in a vec4 (4 exps and 4 FMAs
// per token from 3 workgroup-memory loads); LANES invocations per channel
// (ceil(N/4) as 1, 2 or 4), TILE channels per workgroup. Tokens go in groups
// of 4, so an invocation ends a group with the C·h partial sums of 4 tokens,
// which the channel's LANES invocations reduce-scatter (each ends with the
// full sum of 4 / LANES tokens), in one of two ways:
//  - shuffle (subgroups of >= LANES invocations): subgroupShuffleXor, halving
//    the tokens each step (3 shuffles per 4 tokens at LANES = 4). Channels are
//    placed on subgroup lanes explicitly: no assumption on how
//    local_invocation_index maps to subgroups, nor on their size;
//  - workgroup: partial sums through double-buffered workgroup memory, one
//    barrier per group.
// src/ops/scan-chunked.ts compiles one, or both with a run-time choice on
// subgroup_size, keeping the text between `// @if <flag>`, `// @else`, `// @endif`.
//
// Layouts (float32, token-major, batch outermost; see src/ops/scan-sequential.ts):
//   u, delta (2, B, L, E)   xdbl (2, B, L, R + 2N)   a_log (2, E, N)   d (2, E)
//   xz (B, L, 2E): z = columns E..2E-1    y (B, L, E)
//   scratch (2, B, nChunks, E, N) of vec2(P, h)
// The backward direction reads the same buffers with reversed token order.

// @if shuffle
enable subgroups;
// @endif

override CHUNK: u32 = 16u;  // tokens per chunk (T)
override LANES: u32 = 4u;   // invocations per channel: 1, 2 or 4 (4 states each)
override TILE: u32 = 32u;   // channels per workgroup
override SPAN: u32 = (CHUNK + 3u) / 4u * 4u;  // staged tokens: whole groups of 4

const LOG2E: f32 = 1.4426950408889634;

struct Params {
  batch: u32,
  len: u32,
  channels: u32,      // E
  nstate: u32,        // N <= 4 * LANES
  rank: u32,          // R: B_t starts at column R of xdbl
  chunks: u32,        // ceil(L / CHUNK)
  has_carry: u32,     // 0 when there is a single chunk: phases 1 and 2 are skipped
  carry_stride: u32,  // chunk_carry: workgroups per row of its dispatch
}

// Bindings are ordered so that each phase uses a prefix of them (the 'auto'
// layout of an entry point holds only what it uses): carry 1, summary 1-6, output 1-8.
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> scratch: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> u_in: array<f32>;
@group(0) @binding(3) var<storage, read> xdbl: array<f32>;
@group(0) @binding(4) var<storage, read> delta: array<f32>;
@group(0) @binding(5) var<storage, read> a_log: array<f32>;
@group(0) @binding(6) var<storage, read> d_skip: array<f32>;
@group(0) @binding(7) var<storage, read> xz: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;

var<workgroup> s_dtu: array<vec2<f32>, SPAN * TILE>;  // (Δ, Δ·u) [t][e]; 0 past the chunk's end
var<workgroup> s_b: array<vec4<f32>, SPAN * LANES>;   // B_t [t][lane]: states 4·lane..4·lane+3
var<workgroup> s_c: array<vec4<f32>, SPAN * LANES>;   // C_t, likewise
var<workgroup> s_y: array<f32, SPAN * TILE>;          // [t][e]: o_fwd + o_bwd before the gate
// @if workgroup
var<workgroup> s_part: array<vec4<f32>, 2u * TILE * LANES>;  // [group parity][e][lane]: 4 tokens' partial C·h
// @endif
// @if shuffle
var<workgroup> s_use_shuffle: u32;
var<workgroup> s_subgroup_slots: atomic<u32>;
// @endif

// Index of (dir, b, chunk, e, n) in the summary scratch.
fn summary_index(dir: u32, b: u32, c: u32, e: u32, n: u32) -> u32 {
  return (((dir * p.batch + b) * p.chunks + c) * p.channels + e) * p.nstate + n;
}

// Copies the chunk's (Δ, Δ·u) for channels e0..e0+TILE and B (and C) into
// workgroup memory with coalesced loads. Entries past the chunk or the
// channels are 0: Ā = 1 and B̄u = 0 there, so padded tokens leave h as it is.
// With `skip`, also adds the D·u term of this direction to s_y.
fn stage_chunk(dir: u32, b: u32, t0: u32, count: u32, e0: u32, lid: u32, with_c: bool, skip: bool) {
  let E = p.channels;
  let N = p.nstate;
  let plane = (dir * p.batch + b) * p.len + t0;  // first row of this chunk
  // Batches of 4 elements per invocation: all 8 loads are issued before the
  // first is used, so each invocation has several memory requests in flight.
  for (var i0 = lid; i0 < SPAN * TILE; i0 += 4u * TILE * LANES) {
    var dt: array<f32, 4>;
    var x: array<f32, 4>;
    for (var k = 0u; k < 4u; k++) {
      let i = i0 + k * TILE * LANES;
      let t = i / TILE;
      let e = e0 + i % TILE;
      if (t < count && e < E) {
        let g = (plane + t) * E + e;
        dt[k] = delta[g];
        x[k] = u_in[g];
      }
    }
    for (var k = 0u; k < 4u; k++) {
      let i = i0 + k * TILE * LANES;
      let t = i / TILE;
      let e = e0 + i % TILE;
      let valid = t < count && e < E;
      if (i < SPAN * TILE) {
        // Zeros written explicitly: a private array declared in a loop is not
        // reliably re-zeroed on every iteration (SwiftShader keeps old values).
        s_dtu[i] = select(vec2<f32>(0.0), vec2<f32>(dt[k], dt[k] * x[k]), valid);
        if (skip && valid) {
          let du = d_skip[dir * E + e] * x[k];
          s_y[i] = select(s_y[i] + du, du, dir == 0u);
        }
      }
    }
  }
  let width = p.rank + 2u * N;
  for (var i = lid; i < SPAN * LANES; i += TILE * LANES) {
    let t = i / LANES;
    let n0 = (i % LANES) * 4u;
    var bv = vec4<f32>(0.0);
    var cv = vec4<f32>(0.0);
    if (t < count) {
      let row = (plane + t) * width + p.rank;
      for (var j = 0u; j < 4u; j++) {
        if (n0 + j < N) {
          bv[j] = xdbl[row + n0 + j];
          if (with_c) { cv[j] = xdbl[row + N + n0 + j]; }
        }
      }
    }
    s_b[i] = bv;
    s_c[i] = cv;
  }
}

// A·log2(e) for states 4·lane.. of (dir, e), so that Ā = exp2(Δ·a2); 0 for
// idle states (Ā = 1 and B = 0 keep h = 0 there).
fn scaled_a(dir: u32, e: u32, lane: u32) -> vec4<f32> {
  var a = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let n = lane * 4u + j;
    if (e < p.channels && n < p.nstate) { a[j] = -exp(a_log[(dir * p.channels + e) * p.nstate + n]) * LOG2E; }
  }
  return a;
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
  stage_chunk(dir, b, t0, count, e0, lid, false, false);
  workgroupBarrier();

  let el = lid / LANES;
  let lane = lid % LANES;
  let e = e0 + el;
  let a2 = scaled_a(dir, e, lane);
  let span = (count + 3u) / 4u * 4u;
  var h = vec4<f32>(0.0);
  var dsum = 0.0;
  for (var k = 0u; k < span; k += 4u) {
    for (var j = 0u; j < 4u; j++) {
      let t = select(k + j, span - 1u - k - j, dir == 1u);
      let q = s_dtu[t * TILE + el];
      h = exp2(q.x * a2) * h + q.y * s_b[t * LANES + lane];
      dsum += q.x;
    }
  }
  for (var j = 0u; j < 4u; j++) {
    let n = lane * 4u + j;
    if (e < p.channels && n < p.nstate) {
      // Π_t exp(Δ_t·A) = exp(A·Σ_t Δ_t).
      scratch[summary_index(dir, b, c, e, n)] = vec2<f32>(exp2(a2[j] * dsum), h[j]);
    }
  }
}

// chunk_carry: 256 / CARRY_SEGS recurrences per workgroup, each over the chunk
// summaries in scan order, split into CARRY_SEGS segments of consecutive
// chunks, one per invocation. With few recurrences (batch 1) a serial walk
// over hundreds of chunks is latency-bound, so it is split: each segment is
// composed into one affine map h -> P·h + H, the maps of a recurrence are
// scanned in workgroup memory, then each invocation re-walks its segment from
// its incoming state and stores every chunk's incoming state. With many
// recurrences, CARRY_SEGS = 1: one serial walk each, the least traffic.
override CARRY_SEGS: u32 = 16u;  // 1, 2, 4, 8 or 16
override CARRY_SEQS: u32 = 256u / CARRY_SEGS;
var<workgroup> s_maps: array<vec2<f32>, 256>;  // [segment][recurrence] (P, H)

// Index in scratch of the k-th chunk in scan order of recurrence (plane, en).
fn carry_index(plane: u32, dir: u32, k: u32, en: u32) -> u32 {
  let c = select(k, p.chunks - 1u - k, dir == 1u);
  return (plane * p.chunks + c) * p.channels * p.nstate + en;
}

@compute @workgroup_size(256)
fn chunk_carry(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let per_plane = p.channels * p.nstate;
  let seq = (wg.y * p.carry_stride + wg.x) * CARRY_SEQS + lid % CARRY_SEQS;
  let live = seq < 2u * p.batch * per_plane;
  let plane = seq / per_plane;  // dir * B + b
  let dir = plane / p.batch;
  let en = seq % per_plane;
  let seg = lid / CARRY_SEQS;
  // Segments of chunks in scan order; the last chunk has no summary (nothing follows it).
  let with_summary = p.chunks - 1u;
  let per_seg = (with_summary + CARRY_SEGS - 1u) / CARRY_SEGS;
  let k0 = min(seg * per_seg, with_summary);
  let k1 = min(k0 + per_seg, with_summary);

  var m = vec2<f32>(1.0, 0.0);  // identity map
  if (live) {
    for (var k = k0; k < k1; k++) {
      let s = scratch[carry_index(plane, dir, k, en)];
      m = vec2<f32>(s.x * m.x, s.x * m.y + s.y);
    }
  }
  // Inclusive scan of the segment maps (Hillis-Steele, log2(CARRY_SEGS) steps).
  let slot = lid;  // = seg * CARRY_SEQS + recurrence
  s_maps[slot] = m;
  for (var off = 1u; off < CARRY_SEGS; off *= 2u) {
    workgroupBarrier();
    var left = vec2<f32>(1.0, 0.0);
    if (seg >= off) { left = s_maps[slot - off * CARRY_SEQS]; }
    workgroupBarrier();
    m = vec2<f32>(m.x * left.x, m.x * left.y + m.y);
    s_maps[slot] = m;
  }
  workgroupBarrier();
  var h = 0.0;
  if (seg > 0u) { h = s_maps[slot - CARRY_SEQS].y; }  // the state entering this segment
  if (live) {
    for (var k = k0; k < k1; k++) {
      let at = carry_index(plane, dir, k, en);
      let s = scratch[at];
      scratch[at] = vec2<f32>(s.x, h);
      h = s.x * h + s.y;
    }
    // The chunk visited last gets its incoming state too (the walk above stops before it).
    if (seg == CARRY_SEGS - 1u) {
      let at = carry_index(plane, dir, with_summary, en);
      scratch[at] = vec2<f32>(0.0, h);
    }
  }
}

// Adds the full C·h sum v of token k (0..3, scan order) of group grp to s_y.
fn add_output(dir: u32, grp: u32, k: u32, count: u32, el: u32, v: f32) {
  let t = grp * 4u + select(k, 3u - k, dir == 1u);
  if (t < count) { s_y[t * TILE + el] += v; }
}

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

  // Which channel (el) and which 4 states (lane) this invocation owns.
  var el = lid / LANES;
  var lane = lid % LANES;
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
    // one subgroup, so that the xor partners always share a channel.
    var slot = 0u;
    if (sg_lane == 0u) { slot = atomicAdd(&s_subgroup_slots, 1u); }
    slot = subgroupBroadcast(slot, 0u);
    let v = slot * sg_size + sg_lane;
    el = v / LANES;
    lane = v % LANES;
  }
// @else
  let use_shuffle = false;
// @endif
  let e = e0 + el;
  let groups = (count + 3u) / 4u;

  for (var dir = 0u; dir < 2u; dir++) {
    workgroupBarrier();  // the previous direction is done with the staged chunk
    stage_chunk(dir, b, t0, count, e0, lid, true, true);
    workgroupBarrier();

    let a2 = scaled_a(dir, e, lane);
    var h = vec4<f32>(0.0);
    if (p.has_carry == 1u) {
      for (var j = 0u; j < 4u; j++) {
        let n = lane * 4u + j;
        if (e < p.channels && n < p.nstate) { h[j] = scratch[summary_index(dir, b, c, e, n)].y; }
      }
    }
    for (var g = 0u; g < groups; g++) {
      let grp = select(g, groups - 1u - g, dir == 1u);
      var part: vec4<f32>;  // C·h over this invocation's 4 states, for tokens k = 0..3 of the group
      for (var k = 0u; k < 4u; k++) {
        let t = grp * 4u + select(k, 3u - k, dir == 1u);
        let q = s_dtu[t * TILE + el];
        h = exp2(q.x * a2) * h + q.y * s_b[t * LANES + lane];
        part[k] = dot(h, s_c[t * LANES + lane]);
      }
      if (use_shuffle) {
// @if shuffle
        if (LANES == 1u) {
          for (var k = 0u; k < 4u; k++) { add_output(dir, grp, k, count, el, part[k]); }
        } else if (LANES == 2u) {
          // Keep tokens 0,1 (even lane) or 2,3 (odd), add the partner's half.
          let hi = (lane & 1u) == 1u;
          let s2 = select(part.xy, part.zw, hi) + subgroupShuffleXor(select(part.zw, part.xy, hi), 1u);
          let k = select(0u, 2u, hi);
          add_output(dir, grp, k, count, el, s2.x);
          add_output(dir, grp, k + 1u, count, el, s2.y);
        } else {
          // Halve twice: tokens {0,1} / {2,3} across lane bit 1, then one token across bit 0.
          let hi = (lane & 2u) != 0u;
          let s2 = select(part.xy, part.zw, hi) + subgroupShuffleXor(select(part.zw, part.xy, hi), 2u);
          let odd = (lane & 1u) != 0u;
          let s1 = select(s2.x, s2.y, odd) + subgroupShuffleXor(select(s2.y, s2.x, odd), 1u);
          add_output(dir, grp, select(0u, 2u, hi) + select(0u, 1u, odd), count, el, s1);
        }
// @endif
      } else {
// @if workgroup
        // Double-buffered by group parity: one barrier per group suffices.
        let base = (g & 1u) * TILE * LANES + el * LANES;
        s_part[base + lane] = part;
        workgroupBarrier();
        for (var k = lane; k < 4u; k += LANES) {
          var v = 0.0;
          for (var j = 0u; j < LANES; j++) { v += s_part[base + j][k]; }
          add_output(dir, grp, k, count, el, v);
        }
// @endif
      }
    }
  }
  workgroupBarrier();

  // Epilogue: gate with SiLU(z) and average the two directions; y written once.
  // Batches of 4 elements per invocation, as in stage_chunk, for loads in flight.
  let E = p.channels;
  for (var i0 = lid; i0 < count * TILE; i0 += 4u * TILE * LANES) {
    var z: array<f32, 4>;
    for (var k = 0u; k < 4u; k++) {
      let i = i0 + k * TILE * LANES;
      let ec = e0 + i % TILE;
      if (i < count * TILE && ec < E) { z[k] = xz[((b * p.len + t0 + i / TILE) * 2u + 1u) * E + ec]; }
    }
    for (var k = 0u; k < 4u; k++) {
      let i = i0 + k * TILE * LANES;
      let ec = e0 + i % TILE;
      if (i < count * TILE && ec < E) {
        y[(b * p.len + t0 + i / TILE) * E + ec] = 0.5 * s_y[i] * (z[k] / (1.0 + exp(-z[k])));
      }
    }
  }
}
