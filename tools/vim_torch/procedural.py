"""Procedural weights, scheme "vim-proc-v1" (test/fixtures/vim/README.md,
"Procedural weights"): every value is a fixed function of (seed, tensor number
t in the canonical key order, flat element index i), so the 24-layer fixture
cases and the WebGPU bench (src/model/procedural.ts) can be rebuilt here bit
for bit, on the CPU or directly on the GPU.

The hash needs unsigned 32-bit products; torch has no uint32 arithmetic, so
products are formed in int64 from 16-bit halves (every partial < 2^49, no
overflow) and reduced mod 2^32.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch

M32 = 0xFFFFFFFF
LAYER_KEYS = ("mixer.A_log", "mixer.D", "mixer.A_b_log", "mixer.D_b", "mixer.in_proj.weight",
              "mixer.conv1d.weight", "mixer.conv1d.bias", "mixer.x_proj.weight", "mixer.dt_proj.weight",
              "mixer.dt_proj.bias", "mixer.conv1d_b.weight", "mixer.conv1d_b.bias", "mixer.x_proj_b.weight",
              "mixer.dt_proj_b.weight", "mixer.dt_proj_b.bias", "mixer.out_proj.weight", "norm.weight")
SEEDS = {"vim_ti": 20240217, "vim_s": 20240317}   # the fixtures' and the WebGPU bench's


def _mul32(a: torch.Tensor, c: int) -> torch.Tensor:
    """(a * c) mod 2^32 for int64 a in [0, 2^32) and a constant c < 2^32."""
    lo, hi = c & 0xFFFF, c >> 16
    return (a * lo + (((a * hi) & 0xFFFF) << 16)) & M32


def hash32(seed: int, t: int, i: torch.Tensor) -> torch.Tensor:
    h = (((seed * 0x9E3779B1) + (t * 0x85EBCA77)) & M32) + _mul32(i, 0xC2B2AE3D)
    h = h & M32
    h = _mul32(h ^ (h >> 16), 0x7FEB352D)
    h = _mul32(h ^ (h >> 15), 0x846CA68B)
    return h ^ (h >> 16)


def rule(name: str, shape) -> tuple[float, float]:
    """(base, scale) of a tensor; depends on the key without its `layers.<l>.` prefix."""
    key = name.split(".", 2)[2] if name.startswith("layers.") else name
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    table = {
        "cls_token": (0.0, 0.035), "pos_embed": (0.0, 0.035), "patch_embed.proj.bias": (0.0, 0.02),
        "head.bias": (0.0, 0.1), "mixer.conv1d.weight": (0.0, 0.5), "mixer.conv1d.bias": (0.0, 0.5),
        "mixer.conv1d_b.weight": (0.0, 0.5), "mixer.conv1d_b.bias": (0.0, 0.5),
        "mixer.dt_proj.bias": (-4.5, 2.2), "mixer.dt_proj_b.bias": (-4.5, 2.2),
        "mixer.A_log": (1.4, 1.4), "mixer.A_b_log": (1.4, 1.4), "mixer.D": (1.0, 0.5), "mixer.D_b": (1.0, 0.5),
        "norm.weight": (1.0, 0.2), "norm_f.weight": (1.0, 0.2),
    }
    if key in table:
        return table[key]
    if key in ("patch_embed.proj.weight", "head.weight", "mixer.in_proj.weight", "mixer.x_proj.weight",
               "mixer.x_proj_b.weight", "mixer.out_proj.weight"):
        return 0.0, math.sqrt(3.0 / fan_in)          # uniform with variance 1/fan_in
    if key in ("mixer.dt_proj.weight", "mixer.dt_proj_b.weight"):
        return 0.0, 1.0 / math.sqrt(shape[1])        # (E, R): 1/sqrt(R)
    raise KeyError(f"vim-proc-v1 has no rule for tensor {name!r}")


def canonical_shapes(depth: int, D: int, pos_rows: int, d_state: int = 16, d_conv: int = 4,
                     num_classes: int = 1000, patch: int = 16):
    """(name, shape) in the official state_dict order."""
    E, N, K, R = 2 * D, d_state, d_conv, math.ceil(D / 16)
    layer = {"mixer.A_log": (E, N), "mixer.D": (E,), "mixer.A_b_log": (E, N), "mixer.D_b": (E,),
             "mixer.in_proj.weight": (2 * E, D), "mixer.conv1d.weight": (E, 1, K), "mixer.conv1d.bias": (E,),
             "mixer.x_proj.weight": (R + 2 * N, E), "mixer.dt_proj.weight": (E, R), "mixer.dt_proj.bias": (E,),
             "mixer.conv1d_b.weight": (E, 1, K), "mixer.conv1d_b.bias": (E,),
             "mixer.x_proj_b.weight": (R + 2 * N, E), "mixer.dt_proj_b.weight": (E, R),
             "mixer.dt_proj_b.bias": (E,), "mixer.out_proj.weight": (D, E), "norm.weight": (D,)}
    out = [("cls_token", (1, 1, D)), ("pos_embed", (1, pos_rows, D)), ("patch_embed.proj.weight", (D, 3, patch, patch)),
           ("patch_embed.proj.bias", (D,)), ("head.weight", (num_classes, D)), ("head.bias", (num_classes,))]
    for l in range(depth):
        out += [(f"layers.{l}.{k}", layer[k]) for k in LAYER_KEYS]
    return out + [("norm_f.weight", (D,))]


def procedural_state_dict(seed: int, D: int, pos_rows: int, depth: int = 24, device="cpu") -> "OrderedDict":
    sd = OrderedDict()
    for t, (name, shape) in enumerate(canonical_shapes(depth, D, pos_rows)):
        base, scale = rule(name, shape)
        i = torch.arange(math.prod(shape), dtype=torch.int64, device=device)
        u = hash32(seed, t, i).double() / 4294967296.0 * 2 - 1     # exact in float64
        sd[name] = (base + scale * u).float().reshape(shape)        # one rounding to float32
    return sd
