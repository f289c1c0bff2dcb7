// The float64 reference operators, one per step of docs/model.md §2. They are the
// executable spec that every GPU kernel test compares against, so they favour
// plain loops that read like the formulas over cleverness; the loops are still
// kept allocation-free because a whole Vim-Ti forward runs ~1.5 G multiply-adds.
//
// Conventions: every matrix is row-major and token-major (rows = tokens), inputs
// are any numeric array (Float32Array weights, Float64Array activations), and
// every output is a fresh Float64Array.

/** y = x·Wᵀ (+ b): x (rows, inF), w (outF, inF) as PyTorch's Linear stores it, y (rows, outF). */
export function linear(
  x: ArrayLike<number>, rows: number, inF: number,
  w: ArrayLike<number>, outF: number, bias?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    const xo = r * inF;
    for (let o = 0; o < outF; o++) {
      const wo = o * inF;
      // Four partial sums break the add dependency chain (about 25% faster overall in V8).
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = 0;
      for (; i + 3 < inF; i += 4) {
        a0 += x[xo + i] * w[wo + i];
        a1 += x[xo + i + 1] * w[wo + i + 1];
        a2 += x[xo + i + 2] * w[wo + i + 2];
        a3 += x[xo + i + 3] * w[wo + i + 3];
      }
      for (; i < inF; i++) a0 += x[xo + i] * w[wo + i];
      const acc = (a0 + a1) + (a2 + a3);
      y[r * outF + o] = bias ? acc + bias[o] : acc;
    }
  }
  return y;
}

/** RMSNorm per row: y = x · w / sqrt(mean(x²) + eps); no mean subtraction, no bias (docs/model.md §2.3). */
export function rmsNorm(x: ArrayLike<number>, rows: number, dim: number, w: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let sumSq = 0;
    for (let i = 0; i < dim; i++) sumSq += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(sumSq / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * inv * w[i];
  }
  return y;
}

/** SiLU(v) = v · sigmoid(v). */
export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** PyTorch's softplus with its default threshold: linear above 20 (docs/model.md §2.4 e). */
export function softplus(v: number): number {
  return v > 20 ? v : Math.log1p(Math.exp(v));
}

/**
 * SiLU(depthwise conv1d over tokens + bias), x (L, E), w (E, K) (= conv1d.weight (E, 1, K)).
 * reverse = false: causal, out[t] = b + Σ_k w[k]·x[t−(K−1)+k] (tap K−1 is the current token).
 * reverse = true: what flip → causal conv → flip computes, in original token order:
 * out[t] = b + Σ_k w[k]·x[t+K−1−k]. Tokens outside 0..L−1 are zero (the conv's padding).
 */
export function conv1dSilu(
  x: ArrayLike<number>, L: number, E: number,
  w: ArrayLike<number>, bias: ArrayLike<number>, K: number, reverse: boolean,
): Float64Array {
  const out = new Float64Array(L * E);
  for (let t = 0; t < L; t++) {
    for (let e = 0; e < E; e++) {
      let acc = bias[e];
      for (let k = 0; k < K; k++) {
        const src = reverse ? t + (K - 1) - k : t - (K - 1) + k;
        if (src >= 0 && src < L) acc += w[e * K + k] * x[src * E + e];
      }
      out[t * E + e] = silu(acc);
    }
  }
  return out;
}

export interface SelectiveScanParams {
  L: number;
  E: number;
  N: number;
  /** (L, E): conv + SiLU output; the scan input and the D-skip input */
  u: ArrayLike<number>;
  /** (L, E): Δ = softplus(dt + dt bias) */
  delta: ArrayLike<number>;
  /** (E, N): A = −exp(A_log), already negated */
  A: ArrayLike<number>;
  /** (L, N): one input-projection vector per token, shared by all channels */
  B: ArrayLike<number>;
  /** (L, N): one output-projection vector per token */
  C: ArrayLike<number>;
  /** (E): skip weight */
  D: ArrayLike<number>;
  /** (L, E): the gate, straight from in_proj */
  z: ArrayLike<number>;
  /** scan from the last token to the first (the backward direction, without flips) */
  reverse: boolean;
}

/**
 * Selective scan with the gate (docs/model.md §2.4 f–h), output (L, E) in original token order:
 * h_t = exp(Δ_t·A) ⊙ h_prev + Δ_t·B_t·u_t   (Euler B̄, as the official kernel does, not ZOH)
 * y_t = (C_t·h_t + D·u_t) · SiLU(z_t)
 * h_prev is the state of the previous token in scan order, zero before the first.
 */
export function selectiveScan(p: SelectiveScanParams): Float64Array {
  const { L, E, N, u, delta, A, B, C, D, z, reverse } = p;
  const out = new Float64Array(L * E);
  const h = new Float64Array(E * N); // state per (channel, state index)
  for (let step = 0; step < L; step++) {
    const t = reverse ? L - 1 - step : step;
    const tokE = t * E, tokN = t * N;
    for (let e = 0; e < E; e++) {
      const dt = delta[tokE + e];
      const dtu = dt * u[tokE + e];
      const he = e * N;
      let y = 0;
      for (let n = 0; n < N; n++) {
        const s = Math.exp(dt * A[he + n]) * h[he + n] + dtu * B[tokN + n];
        h[he + n] = s;
        y += s * C[tokN + n];
      }
      y += D[e] * u[tokE + e];
      out[tokE + e] = y * silu(z[tokE + e]);
    }
  }
  return out;
}

/** Patch-grid size along one axis: (size − P)//S + 1, dropping any remainder (docs/model.md §2.1). */
export function gridSize(size: number, P: number, stride: number): number {
  return Math.floor((size - P) / stride) + 1;
}

/**
 * Conv2d(3 → D, kernel P, stride S, no padding) of one image (3, H, W), flattened to
 * patches in row-major grid order: output (M, D), patch m = row·gw + col (docs/model.md §2.1).
 * Computed as im2col + linear, because w (D, 3, P, P) is a Linear weight (D, 3·P·P).
 */
export function patchEmbed(
  img: ArrayLike<number>, H: number, W: number,
  w: ArrayLike<number>, bias: ArrayLike<number>, D: number, P: number, stride: number,
): Float64Array {
  const gh = gridSize(H, P, stride), gw = gridSize(W, P, stride);
  const M = gh * gw, F = 3 * P * P;
  const cols = new Float64Array(M * F);
  for (let row = 0; row < gh; row++) {
    for (let col = 0; col < gw; col++) {
      let o = (row * gw + col) * F;
      for (let c = 0; c < 3; c++) {
        for (let py = 0; py < P; py++) {
          const src = c * H * W + (row * stride + py) * W + col * stride;
          for (let px = 0; px < P; px++) cols[o++] = img[src + px];
        }
      }
    }
  }
  return linear(cols, M, F, w, D, bias);
}
