// Bidirectional selective scan of one Vim layer, with the mixer's conv1d + SiLU
// and dt_proj + softplus computed where the scan stages its inputs, so neither
// u nor Δ ever reaches global memory (docs/design.md §7).
//
// h_t = Ā_t ⊙ h_{t-1} + B̄u_t is a linear recurrence over the tokens, cut into
// chunks of CHUNK tokens. Each workgroup owns one direction of one image and a
// tile of TILE channels, and either
//   SINGLE:       walks every chunk of the sequence in scan order, carrying h
//                 in registers (one dispatch; best when chunks are few), or
//   chunk-parallel, three dispatches:
//     chunk_summary (1) per (dir, b, chunk, e, n): P = Π Ā = exp(A·ΣΔ) (A is
//                   fixed per (e, n)) and the chunk's end state started from 0;
//     chunk_carry   (2) per (dir, b, e, n): h_in(next) = P·h_in + h_end in scan
//                   order; each summary's state slot becomes the chunk's h_in;
//     chunk_output  (3) per (dir, b, chunk, tile): re-scans its chunk from h_in.
// chunk_output writes this direction's ½·(C·h + D·u)·SiLU(z) into its half of
// y2 (2, B, L, E); out_proj adds the halves as it loads them.
//
// Staging one chunk: x of the chunk's tokens plus the conv's TAPS−1 halo
// tokens (before them going forward, after them going backward), the dt-rank
// part of x_proj's rows, B and C go to workgroup memory with coalesced loads;
// then every (token, channel) gets u = SiLU(conv1d(x)) and
// Δ = softplus(dt_proj(dt-rank part) + bias) from there, kept as (Δ, Δ·u).
// Tokens past the chunk's end get Δ = 0: Ā = 1 and B̄u = 0 leave h as it is.
//
// The per-channel constants are packed once per model (src/ops/scan-constants.ts):
// row (dir, e) of `consts` = [conv weight (TAPS), conv bias, dt bias, D,
// A·log2(e) (N), dt_proj row (R)], so Ā = exp2(Δ·A·log2 e).
//
// Each invocation holds 4 states of one channel in a vec4 (4 exps and 4 FMAs
// per token from 3 workgroup-memory loads); LANES invocations per channel
// (ceil(N/4) as 1, 2 or 4). Tokens go in groups of 4, so an invocation ends a
// group with the C·h partial sums of 4 tokens, which the channel's LANES
// invocations reduce-scatter (each ends with the full sum of 4 / LANES tokens):
//  - shuffle (subgroups of >= LANES invocations): subgroupShuffleXor, halving
//    the tokens each step. Channels are placed on subgroup lanes explicitly: no
//    assumption on how local_invocation_index maps to subgroups, nor on their size;
//  - workgroup: partial sums through double-buffered workgroup memory.
// src/ops/scan-chunked.ts compiles one, or both with a run-time choice on
// subgroup_size, keeping the text between `// @if <flag>`, `// @else`, `// @endif`.
//
// Layouts (float32, token-major, batch outermost):
//   xz (B, L, 2E): x = columns 0..E-1, z = E..2E-1   xdbl (2, B, L, R + 2N)
//   consts (2, E, stride)   y2 (2, B, L, E)   scratch (2, B, nChunks, E, N) of vec2(P, h)
// The backward direction reads the same buffers with reversed token order.

// @if shuffle
enable subgroups;
// @endif

override CHUNK: u32 = 16u;  // tokens per chunk
override LANES: u32 = 4u;   // invocations per channel: 1, 2 or 4 (4 states each)
override TILE: u32 = 32u;   // channels per workgroup
override RANK: u32 = 12u;   // R, the dt-rank (columns 0..R-1 of xdbl)
override TAPS: u32 = 4u;    // conv1d width, at most 8
override SINGLE: bool = false;  // one workgroup walks the whole sequence
override SPAN: u32 = (CHUNK + 3u) / 4u * 4u;  // staged tokens: whole groups of 4
override WG: u32 = TILE * LANES;

const LOG2E: f32 = 1.4426950408889634;

struct Params {
  batch: u32,
  len: u32,
  channels: u32,      // E
  nstate: u32,        // N <= 4 * LANES
  chunks: u32,        // ceil(L / CHUNK)
  has_carry: u32,     // 1: chunk_output starts from the carried states in scratch
  carry_stride: u32,  // chunk_carry: workgroups per row of its dispatch
  stride: u32,        // floats per row of consts: TAPS + 3 + N + R
}

// chunk_carry uses only p and scratch, chunk_summary all but y2, chunk_output all
// (src/ops/scan-chunked.ts binds each phase's part by name).
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> scratch: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> xz: array<f32>;
@group(0) @binding(3) var<storage, read> xdbl: array<f32>;
@group(0) @binding(4) var<storage, read> consts: array<f32>;
@group(0) @binding(5) var<storage, read_write> y2: array<f32>;

var<workgroup> s_x: array<f32, (SPAN + TAPS - 1u) * TILE>;  // x [window token][e]
var<workgroup> s_r: array<f32, SPAN * RANK>;                 // dt-rank part [t][r]
var<workgroup> s_w: array<f32, RANK * TILE>;                 // dt_proj [r][e], the whole dispatch
var<workgroup> s_dtu: array<vec2<f32>, SPAN * TILE>;         // (Δ, Δ·u) [t][e]; 0 past the chunk's end
var<workgroup> s_b: array<vec4<f32>, SPAN * LANES>;          // B_t [t][lane]: states 4·lane..4·lane+3
var<workgroup> s_c: array<vec4<f32>, SPAN * LANES>;          // C_t, likewise
var<workgroup> s_y: array<f32, SPAN * TILE>;                 // [t][e]: C·h + D·u before the gate
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

// silu() and softplus() are in shaders/activations.wgsl, appended by src/ops/scan-chunked.ts.

// The constants of channel e0 + lid % TILE that staging needs (fixed per invocation).
struct StageConsts {
  conv: array<f32, 8>,
  conv_bias: f32,
  dt_bias: f32,
  d: f32,
}

fn stage_consts(dir: u32, e: u32) -> StageConsts {
  var k: StageConsts;
  if (e < p.channels) {
    let row = (dir * p.channels + e) * p.stride;
    for (var j = 0u; j < TAPS; j++) { k.conv[j] = consts[row + j]; }
    k.conv_bias = consts[row + TAPS];
    k.dt_bias = consts[row + TAPS + 1u];
    k.d = consts[row + TAPS + 2u];
  }
  return k;
}

// dt_proj rows of the tile's channels into s_w (once per workgroup).
fn stage_dt_weights(dir: u32, e0: u32, lid: u32) {
  for (var i = lid; i < RANK * TILE; i += WG) {
    let el = i / RANK;
    let r = i % RANK;
    var v = 0.0;
    if (e0 + el < p.channels) { v = consts[(dir * p.channels + e0 + el) * p.stride + TAPS + 3u + p.nstate + r]; }
    s_w[r * TILE + el] = v;
  }
}

// Stages chunk [t0, t0 + count) of direction dir for channels e0..e0+TILE: the
// loads (x with halo, dt-rank part, B, C), then (Δ, Δ·u) per (token, channel)
// and, with `skip`, s_y = D·u. Ends with a barrier.
fn stage_chunk(dir: u32, b: u32, t0: u32, count: u32, e0: u32, lid: u32, k: StageConsts, with_c: bool, skip: bool) {
  let E = p.channels;
  let N = p.nstate;
  // x: the window starts TAPS−1 tokens early going forward (the causal taps).
  let halo = TAPS - 1u;
  let first = i32(t0) - select(i32(halo), 0, dir == 1u);
  let rows = count + halo;
  for (var i = lid; i < rows * TILE; i += WG) {
    let ts = first + i32(i / TILE);
    let e = e0 + i % TILE;
    var v = 0.0;
    if (ts >= 0 && ts < i32(p.len) && e < E) { v = xz[(b * p.len + u32(ts)) * 2u * E + e]; }
    s_x[i] = v;
  }
  let width = RANK + 2u * N;
  let plane = (dir * p.batch + b) * p.len + t0;  // first xdbl row of this chunk
  for (var i = lid; i < count * RANK; i += WG) {
    s_r[i] = xdbl[(plane + i / RANK) * width + i % RANK];
  }
  for (var i = lid; i < SPAN * LANES; i += WG) {
    let t = i / LANES;
    let n0 = (i % LANES) * 4u;
    var bv = vec4<f32>(0.0);
    var cv = vec4<f32>(0.0);
    if (t < count) {
      let row = (plane + t) * width + RANK;
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
  workgroupBarrier();

  // u and Δ; this invocation's channel is fixed (WG is a multiple of TILE).
  let el = lid % TILE;
  let live_e = e0 + el < E;
  for (var i = lid; i < SPAN * TILE; i += WG) {
    let t = i / TILE;
    var q = vec2<f32>(0.0);
    var du = 0.0;
    if (t < count && live_e) {
      var c = k.conv_bias;
      for (var j = 0u; j < TAPS; j++) {
        // Forward: tap j reads token t − (TAPS−1) + j = window row t + j.
        // Backward (anti-causal): token t + (TAPS−1) − j = window row t + TAPS−1−j.
        let w = select(t + j, t + halo - j, dir == 1u);
        c = fma(k.conv[j], s_x[w * TILE + el], c);
      }
      let u = silu(c);
      var dt = k.dt_bias;
      for (var r = 0u; r < RANK; r++) { dt = fma(s_r[t * RANK + r], s_w[r * TILE + el], dt); }
      let delta = softplus(dt);
      q = vec2<f32>(delta, delta * u);
      du = k.d * u;
    }
    s_dtu[i] = q;
    if (skip) { s_y[i] = du; }
  }
  workgroupBarrier();
}

// A·log2(e) for states 4·lane.. of (dir, e), so that Ā = exp2(Δ·a2); 0 for
// idle states (Ā = 1 and B = 0 keep h = 0 there).
fn scaled_a(dir: u32, e: u32, lane: u32) -> vec4<f32> {
  var a = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let n = lane * 4u + j;
    if (e < p.channels && n < p.nstate) { a[j] = consts[(dir * p.channels + e) * p.stride + TAPS + 3u + n]; }
  }
  return a;
}

@compute @workgroup_size(WG)
fn chunk_summary(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let dir = wg.z / p.batch;
  let b = wg.z % p.batch;
  // Each direction skips the chunk it visits last: no later chunk needs its
  // summary. Forward: chunks 0..n-2; backward: chunks 1..n-1.
  let c = wg.y + dir;
  let t0 = c * CHUNK;
  let count = min(CHUNK, p.len - t0);
  let e0 = wg.x * TILE;
  stage_dt_weights(dir, e0, lid);
  workgroupBarrier();
  stage_chunk(dir, b, t0, count, e0, lid, stage_consts(dir, e0 + lid % TILE), false, false);

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

@compute @workgroup_size(WG)
fn chunk_output(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
// @if shuffle
  @builtin(subgroup_invocation_id) sg_lane: u32,
  @builtin(subgroup_size) sg_size: u32,
// @endif
) {
  let dir = wg.z / p.batch;
  let b = wg.z % p.batch;
  let e0 = wg.x * TILE;

  // Which channel (el) and which 4 states (lane) this invocation owns in the scan.
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
  let a2 = scaled_a(dir, e, lane);
  let k = stage_consts(dir, e0 + lid % TILE);
  stage_dt_weights(dir, e0, lid);

  var h = vec4<f32>(0.0);
  let steps = select(1u, p.chunks, SINGLE);
  for (var step = 0u; step < steps; step++) {
    // SINGLE: every chunk in scan order; else this workgroup's chunk, from its carried state.
    var c = wg.y;
    if (SINGLE) { c = select(step, p.chunks - 1u - step, dir == 1u); }
    let t0 = c * CHUNK;
    let count = min(CHUNK, p.len - t0);
    if (!SINGLE && p.has_carry == 1u) {
      for (var j = 0u; j < 4u; j++) {
        let n = lane * 4u + j;
        if (e < p.channels && n < p.nstate) { h[j] = scratch[summary_index(dir, b, c, e, n)].y; }
      }
    }
    workgroupBarrier();  // the previous chunk's epilogue is done with s_y (and s_w is staged)
    stage_chunk(dir, b, t0, count, e0, lid, k, true, true);

    let groups = (count + 3u) / 4u;
    for (var g = 0u; g < groups; g++) {
      let grp = select(g, groups - 1u - g, dir == 1u);
      var part: vec4<f32>;  // C·h over this invocation's 4 states, for tokens k = 0..3 of the group
      for (var q = 0u; q < 4u; q++) {
        let t = grp * 4u + select(q, 3u - q, dir == 1u);
        let dtu = s_dtu[t * TILE + el];
        h = exp2(dtu.x * a2) * h + dtu.y * s_b[t * LANES + lane];
        part[q] = dot(h, s_c[t * LANES + lane]);
      }
      if (use_shuffle) {
// @if shuffle
        if (LANES == 1u) {
          for (var q = 0u; q < 4u; q++) { add_output(dir, grp, q, count, el, part[q]); }
        } else if (LANES == 2u) {
          // Keep tokens 0,1 (even lane) or 2,3 (odd), add the partner's half.
          let hi = (lane & 1u) == 1u;
          let s2 = select(part.xy, part.zw, hi) + subgroupShuffleXor(select(part.zw, part.xy, hi), 1u);
          let q = select(0u, 2u, hi);
          add_output(dir, grp, q, count, el, s2.x);
          add_output(dir, grp, q + 1u, count, el, s2.y);
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
        for (var q = lane; q < 4u; q += LANES) {
          var v = 0.0;
          for (var j = 0u; j < LANES; j++) { v += s_part[base + j][q]; }
          add_output(dir, grp, q, count, el, v);
        }
// @endif
      }
    }
    workgroupBarrier();

    // Epilogue: gate with SiLU(z), halve; this direction's half of y2 written once.
    let E = p.channels;
    let ec = e0 + lid % TILE;
    if (ec < E) {
      for (var i = lid; i < count * TILE; i += WG) {
        let row = b * p.len + t0 + i / TILE;
        let z = xz[row * 2u * E + E + ec];
        y2[(dir * p.batch * p.len + row) * E + ec] = 0.5 * s_y[i] * silu(z);
      }
    }
  }
}
