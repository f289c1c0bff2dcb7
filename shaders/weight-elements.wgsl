// Elements of a weight stored reduced (weights/FORMAT.md), shared by the kernels
// that read weights (prepended to their code by their descriptors): f32; f16, two
// per u32 word (unpack2x16float: no shader-f16 feature needed); int8, four per
// word (little-endian: byte 0 is element 0), scaled per row by the caller.

// Sign-extends the four bytes of a word.
fn i8x4(v: u32) -> vec4f {
  return vec4f(vec4i(bitcast<i32>(v << 24u), bitcast<i32>(v << 16u), bitcast<i32>(v << 8u), bitcast<i32>(v)) >> vec4u(24u));
}

// Index of the word holding element i for a storage type (0 f32, 1 f16, 2 int8).
fn weight_word_index(i: u32, dtype: u32) -> u32 {
  if (dtype == 1u) { return i >> 1u; }
  if (dtype == 2u) { return i >> 2u; }
  return i;
}

// Element i as f32 (before an int8 row scale), from the word that holds it.
fn weight_from_word(word: u32, i: u32, dtype: u32) -> f32 {
  if (dtype == 1u) { return unpack2x16float(word)[i & 1u]; }
  if (dtype == 2u) { return i8x4(word)[i & 3u]; }
  return bitcast<f32>(word);
}
