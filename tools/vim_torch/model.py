"""Vision Mamba (Vim, bimamba v2, middle class token) in plain PyTorch.

Follows the forward-pass description in docs/model.md section 2. Module
and parameter names and shapes are those of the official hustvl/Vim code, so
`load_state_dict(checkpoint['model'])` takes a released checkpoint and the
state dicts we save load in the official code and in our TypeScript readers.
No custom kernels: the selective scan comes from scan.py.

Differences from the official module that do not touch the state dict: no
RoPE / double class token / layer scale / bidirectional layer pairing (all off
in the released models), and the two scan directions run as one batched scan.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .scan import selective_scan


class RMSNorm(nn.Module):
    """y = x * w / sqrt(mean(x^2) + eps); a weight and no bias, as the official."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class DropPath(nn.Module):
    """Stochastic depth for training: drops a sample's branch, rescales the rest."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class PatchEmbed(nn.Module):
    """Conv2d(3 -> D, 16x16, stride S), tokens in row-major grid order."""

    def __init__(self, img_size: int, patch_size: int, stride: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.img_size = img_size
        self.grid = ((img_size - patch_size) // stride + 1,) * 2
        self.num_patches = self.grid[0] * self.grid[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride)

    def forward(self, x):
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f"model built for {self.img_size}px input, got {tuple(x.shape[-2:])}")
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, M, D)


class BiMambaV2(nn.Module):
    """The Mamba mixer with the bimamba-v2 backward branch (the `_b` parameters).

    Registration order matches the official module so state_dict() lists keys
    in the official order.
    """

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 dt_rank: int | None = None, scan_impl: str = "auto", chunk: int = 0):
        super().__init__()
        E = expand * d_model
        R = dt_rank if dt_rank is not None else math.ceil(d_model / 16)
        self.d_model, self.d_inner, self.d_state, self.d_conv, self.dt_rank = d_model, E, d_state, d_conv, R
        self.scan_impl, self.chunk = scan_impl, chunk
        A_init = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(E, 1)
        self.A_log = nn.Parameter(A_init.clone())
        self.D = nn.Parameter(torch.ones(E))
        self.A_b_log = nn.Parameter(A_init.clone())
        self.D_b = nn.Parameter(torch.ones(E))
        self.in_proj = nn.Linear(d_model, 2 * E, bias=False)
        self.conv1d = nn.Conv1d(E, E, d_conv, groups=E, padding=d_conv - 1)
        self.x_proj = nn.Linear(E, R + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(R, E, bias=True)
        self.conv1d_b = nn.Conv1d(E, E, d_conv, groups=E, padding=d_conv - 1)
        self.x_proj_b = nn.Linear(E, R + 2 * d_state, bias=False)
        self.dt_proj_b = nn.Linear(R, E, bias=True)
        self.out_proj = nn.Linear(E, d_model, bias=False)

    def forward(self, h):  # h: (Bt, L, D)
        Bt, L, _ = h.shape
        E, N, R, K = self.d_inner, self.d_state, self.dt_rank, self.d_conv
        xz = self.in_proj(h).transpose(1, 2)                      # (Bt, 2E, L)
        x, z = xz[:, :E], xz[:, E:]
        # The backward direction is the forward computation on the token-
        # reversed sequence (x and z both reversed) with the `_b` parameters.
        x2 = torch.cat([x, x.flip(-1)], 1)                        # (Bt, 2E, L)
        z2 = torch.cat([z, z.flip(-1)], 1)
        conv_w = torch.cat([self.conv1d.weight, self.conv1d_b.weight], 0)
        conv_b = torch.cat([self.conv1d.bias, self.conv1d_b.bias], 0)
        u = F.silu(F.conv1d(x2, conv_w, conv_b, padding=K - 1, groups=2 * E)[..., :L])
        uf, ub = u[:, :E].transpose(1, 2), u[:, E:].transpose(1, 2)   # (Bt, L, E)
        dbl = torch.stack([self.x_proj(uf), self.x_proj_b(ub)], 1)    # (Bt, 2, L, R+2N)
        dt_low, Bm, Cm = dbl[..., :R], dbl[..., R:R + N], dbl[..., R + N:]
        dt = torch.cat([dt_low[:, 0] @ self.dt_proj.weight.t(),
                        dt_low[:, 1] @ self.dt_proj_b.weight.t()], 2).transpose(1, 2)  # (Bt, 2E, L)
        A = -torch.exp(torch.cat([self.A_log, self.A_b_log], 0).float())
        y = selective_scan(
            u, dt, A, Bm.transpose(2, 3), Cm.transpose(2, 3),          # B, C: (Bt, 2 groups, N, L)
            D=torch.cat([self.D, self.D_b]).float(), z=z2,
            delta_bias=torch.cat([self.dt_proj.bias, self.dt_proj_b.bias]).float(),
            delta_softplus=True, impl=self.scan_impl, chunk=self.chunk)
        out = (y[:, :E] + y[:, E:].flip(-1)) * 0.5                # if_divide_out
        return self.out_proj(out.transpose(1, 2))


class Block(nn.Module):
    """residual += drop_path(previous mixer output); hidden = mixer(norm(residual))."""

    def __init__(self, dim: int, mixer: nn.Module, eps: float, drop_path: float):
        super().__init__()
        self.mixer = mixer
        self.norm = RMSNorm(dim, eps)
        self.drop_path = DropPath(drop_path)

    def forward(self, hidden, residual):
        residual = hidden if residual is None else residual + self.drop_path(hidden)
        return self.mixer(self.norm(residual)), residual


class VisionMamba(nn.Module):
    def __init__(self, img_size: int = 224, patch_size: int = 16, stride: int = 16, depth: int = 24,
                 embed_dim: int = 192, d_state: int = 16, num_classes: int = 1000, channels: int = 3,
                 norm_eps: float = 1e-5, dt_rank: int | None = None, d_conv: int = 4, expand: int = 2,
                 drop_path_rate: float = 0.0, scan_impl: str = "auto", chunk: int = 0):
        super().__init__()
        self.num_classes, self.embed_dim = num_classes, embed_dim
        self.patch_embed = PatchEmbed(img_size, patch_size, stride, channels, embed_dim)
        M = self.patch_embed.num_patches
        self.cls_index = M // 2                                    # middle class token
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, M + 1, embed_dim))
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        dpr = [0.0] + torch.linspace(0, drop_path_rate, depth).tolist()  # official schedule
        self.layers = nn.ModuleList([
            Block(embed_dim, BiMambaV2(embed_dim, d_state, d_conv, expand, dt_rank, scan_impl, chunk),
                  norm_eps, dpr[i]) for i in range(depth)])
        self.norm_f = RMSNorm(embed_dim, norm_eps)
        self.drop_path = DropPath(drop_path_rate)
        self.init_weights()

    # -- construction ------------------------------------------------------
    @classmethod
    def from_state_dict(cls, sd: dict, **overrides) -> "VisionMamba":
        """Builds the model a state dict describes (depth, widths, grid) and loads it."""
        D = sd["cls_token"].shape[-1]
        depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("layers."))
        E, N = sd["layers.0.mixer.A_log"].shape
        R = sd["layers.0.mixer.dt_proj.weight"].shape[1]
        P = sd["patch_embed.proj.weight"].shape[-1]
        L = sd["pos_embed"].shape[1]
        kw = dict(depth=depth, embed_dim=D, d_state=N, dt_rank=R, expand=E // D, patch_size=P,
                  d_conv=sd["layers.0.mixer.conv1d.weight"].shape[-1], num_classes=sd["head.bias"].shape[0])
        if "stride" not in overrides or "img_size" not in overrides:
            g = math.isqrt(L - 1)  # square grid; give img_size/stride for the stride-8 case
            stride = overrides.get("stride", 16)
            kw["img_size"] = (g - 1) * stride + P
        kw.update(overrides)
        model = cls(**kw)
        model.load_state_dict(sd)
        return model

    def init_weights(self):
        """Training initialisation, following the official recipe (facts from
        hustvl/Vim and mamba_ssm 1.1.1): truncated-normal pos/cls/head, zero
        Linear biases, dt bias = softplus^-1 of log-uniform dt in [1e-3, 0.1],
        uniform dt_proj weights, out_proj rescaled by 1/sqrt(depth)."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if isinstance(self.head, nn.Linear):
            nn.init.trunc_normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)
        w = self.patch_embed.proj.weight  # lecun normal
        nn.init.trunc_normal_(w, std=math.sqrt(1.0 / w[0].numel()) / 0.87962566103423978)
        nn.init.zeros_(self.patch_embed.proj.bias)
        depth = len(self.layers)
        for blk in self.layers:
            m = blk.mixer
            std = m.dt_rank ** -0.5
            for dtp in (m.dt_proj, m.dt_proj_b):
                nn.init.uniform_(dtp.weight, -std, std)
                dt = torch.exp(torch.rand(m.d_inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
                dt = dt.clamp(min=1e-4)
                with torch.no_grad():
                    dtp.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            nn.init.kaiming_uniform_(m.out_proj.weight, a=math.sqrt(5))
            with torch.no_grad():
                m.out_proj.weight /= math.sqrt(depth)

    # -- forward -----------------------------------------------------------
    def forward_features(self, x):
        t = self.patch_embed(x)                                   # (B, M, D)
        B = t.shape[0]
        p = self.cls_index
        t = torch.cat([t[:, :p], self.cls_token.expand(B, -1, -1), t[:, p:]], 1) + self.pos_embed
        hidden, residual = t, None
        for blk in self.layers:
            hidden, residual = blk(hidden, residual)
        out = self.norm_f(residual + self.drop_path(hidden))
        return out[:, p]

    def forward(self, x):
        return self.head(self.forward_features(x))


def vim_config(name: str) -> dict:
    """Constructor kwargs of the released models ('vim_ti', 'vim_s', 'vim_b')."""
    dims = {"vim_ti": 192, "vim_s": 384, "vim_b": 768}
    if name not in dims:
        raise ValueError(f"unknown model {name!r}; one of {sorted(dims)}")
    return dict(embed_dim=dims[name], depth=24, d_state=16, num_classes=1000)
