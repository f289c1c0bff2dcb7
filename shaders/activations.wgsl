// Activation functions shared by the kernels that apply them (appended to their
// code by their descriptors: appended, not prepended, so that an `enable`
// directive stays first in the module).

// SiLU: c / (1 + e^−c); for very negative c, e^−c overflows to +inf and the result is −0, the limit.
fn silu(c: f32) -> f32 {
  return c / (1.0 + exp(-c));
}

fn silu4(c: vec4f) -> vec4f {
  return c / (1.0 + exp(-c));
}

// PyTorch softplus (threshold 20). log(1 + e^v) = max(v, 0) + log1p(e^-|v|), and
// log1p(t) for t in (0, 1] as 2·atanh(t / (2 + t)) by its odd series: only
// +, ·, / of small numbers, so Δ keeps full relative precision when e^v is tiny
// (log(1 + t) would round 1 + t and lose it; Vim's Δ lives around 1e-3..1e-1).
// s ≤ 1/3, so the terms through s¹³ leave a relative error below 2e-8.
fn softplus(v: f32) -> f32 {
  if (v > 20.0) { return v; }
  let t = exp(-abs(v));
  let s = t / (2.0 + t);
  let s2 = s * s;
  let poly = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0
             + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
  return max(v, 0.0) + 2.0 * s * poly;
}
