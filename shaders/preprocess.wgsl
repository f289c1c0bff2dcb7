// The official eval transform (docs/preprocessing.md) on the GPU, bit for bit:
// Resize(shorter side → int(s/0.875), Pillow BICUBIC) → CenterCrop(s) → ToTensor → Normalize.
//
// Two passes, as Pillow resamples: `horizontal` then `vertical`, each an integer
// sum of input bytes times 22-fraction-bit weights that starts at 0.5 and ends in
// clip8 (shift, clamp to 0..255), so the intermediate is 8-bit exactly like
// Pillow's. Only what the crop keeps is computed: the s crop columns of every
// upright row the vertical taps read, then the s × s crop.
//
// Stored pixels come as bytes (1..4 per pixel, any row pitch): raw pixels from
// the host or an RGBA8 texture copied into a buffer. `orient` maps an upright
// pixel to the stored one (EXIF orientation without a CPU rotation), `crop`
// maps an output pixel to a resized one; both are gl-matrix mat2d, whose
// memory layout [a, b, c, d, tx, ty] is exactly a WGSL mat3x2f (three columns).

struct Params {
  orient: mat3x2f,    // upright pixel (x, y) → stored pixel
  crop: mat3x2f,      // output pixel (x, y) → resized pixel (a translation: axes stay separate)
  row_bytes: u32,     // bytes per stored row
  channels: u32,      // bytes per stored pixel: 1 or 2 (gray, alpha ignored), 3 (RGB), 4 (RGBA)
  size: u32,          // s
  row_first: u32,     // first upright row the vertical pass reads
  rows: u32,          // rows of the intermediate
  h_stride: u32,      // i32s per row of the horizontal table
  v_offset: u32,      // where the vertical table starts in `taps`
  v_stride: u32,
  out_base: u32,      // float offset of this image in the (B, 3, s, s) batch
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;        // stored bytes, little-endian words
@group(0) @binding(2) var<storage, read> taps: array<i32>;       // per resized index: first, count, weights…
@group(0) @binding(3) var<storage, read_write> mid: array<u32>;  // (rows, s) packed RGB after the horizontal pass
@group(0) @binding(4) var<storage, read> lut: array<f32>;        // (3, 256): normalized value of each byte
@group(0) @binding(5) var<storage, read_write> image: array<f32>;  // (B, 3, s, s)

const PRECISION_BITS = 22u;
const HALF = 1 << 21u;  // 0.5 in fixed point: Pillow's rounding offset

fn byte_at(i: u32) -> i32 {
  return i32((src[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu);
}

// RGB of a stored pixel, as PIL's convert('RGB') sees it (gray replicated, alpha dropped).
fn stored_rgb(x: u32, y: u32) -> vec3i {
  let at = y * p.row_bytes + x * p.channels;
  let r = byte_at(at);
  if (p.channels < 3u) { return vec3i(r); }
  return vec3i(r, byte_at(at + 1u), byte_at(at + 2u));
}

// Pillow's clip8: drop the fraction bits, clamp to a byte.
fn clip8(acc: vec3i) -> vec3u {
  let v = select(acc >> vec3u(PRECISION_BITS), vec3i(0), acc <= vec3i(0));
  return vec3u(select(v, vec3i(255), acc >= vec3i(1 << (PRECISION_BITS + 8u))));
}

fn apply(m: mat3x2f, x: u32, y: u32) -> vec2u {
  // Every entry and coordinate is a small integer, exact in f32; round() only guards the cast.
  return vec2u(round(m * vec3f(f32(x), f32(y), 1.0)));
}

// One intermediate pixel: crop column x of upright row row_first + r.
@compute @workgroup_size(16, 16)
fn horizontal(@builtin(global_invocation_id) id: vec3u) {
  let x = id.x;
  let r = id.y;
  if (x >= p.size || r >= p.rows) { return; }
  let column = apply(p.crop, x, 0u).x;
  let t = column * p.h_stride;
  let first = u32(taps[t]);
  let count = u32(taps[t + 1u]);
  let y = p.row_first + r;
  var acc = vec3i(HALF);
  for (var k = 0u; k < count; k++) {
    let s = apply(p.orient, first + k, y);
    acc += stored_rgb(s.x, s.y) * taps[t + 2u + k];
  }
  let v = clip8(acc);
  mid[r * p.size + x] = v.r | (v.g << 8u) | (v.b << 16u);
}

// One output pixel: the vertical taps over the intermediate, then normalization.
@compute @workgroup_size(16, 16)
fn vertical(@builtin(global_invocation_id) id: vec3u) {
  let x = id.x;
  let y = id.y;
  if (x >= p.size || y >= p.size) { return; }
  let row = apply(p.crop, x, y).y;
  let t = p.v_offset + row * p.v_stride;
  let first = u32(taps[t]);
  let count = u32(taps[t + 1u]);
  var acc = vec3i(HALF);
  for (var k = 0u; k < count; k++) {
    let m = mid[(first + k - p.row_first) * p.size + x];
    acc += vec3i(vec3u(m, m >> 8u, m >> 16u) & vec3u(0xffu)) * taps[t + 2u + k];
  }
  let v = clip8(acc);
  let plane = p.size * p.size;
  let o = p.out_base + y * p.size + x;
  image[o] = lut[v.r];
  image[o + plane] = lut[256u + v.g];
  image[o + 2u * plane] = lut[512u + v.b];
}
