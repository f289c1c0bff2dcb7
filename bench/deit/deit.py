"""A plain ViT with DeiT-Ti / DeiT-S dimensions, for the browser benchmark's ONNX graphs.

Written for this project rather than taken from timm so that the exported graph is exactly
what we say it is: LayerNorm (eps 1e-6), one fused qkv Linear per block, attention computed
explicitly as softmax(q·kᵀ/√d)·v (two MatMuls and a Softmax, the full L×L matrix per head in
memory), a GELU MLP, the class token first and a learned position table sized for one input
resolution. No torch.nn.functional.scaled_dot_product_attention: exported, that would also be
MatMul + Softmax, but writing it out keeps the graph independent of the exporter's version.

Patch embedding is a 16×16 convolution with stride 16, which drops the last H mod 16 rows and
columns exactly like Vim's (size − 16) // stride + 1 grid: at 738 px both see 46 × 46 patches.
"""
import math

import torch
from torch import nn

PATCH = 16

# name: (embed dim, heads, MLP hidden); 12 blocks each, as in DeiT (Touvron et al., 2021).
DIMS = {
    "deit_ti": (192, 3, 768),
    "deit_s": (384, 6, 1536),
}
DEPTH = 12
NUM_CLASSES = 1000


def grid(size: int) -> int:
    """Patches per side at a square input of `size` pixels (Vim's convention at stride 16)."""
    return (size - PATCH) // PATCH + 1


def tokens(size: int) -> int:
    return grid(size) ** 2 + 1


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                     # (b, heads, n, head_dim)
        attn = torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1)  # (b, heads, n, n)
        out = (attn @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, name: str, size: int):
        super().__init__()
        dim, heads, hidden = DIMS[name]
        self.patch_embed = nn.Conv2d(3, dim, kernel_size=PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(DEPTH))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, NUM_CLASSES)
        # Created last so that every other tensor draws the same random numbers at every
        # resolution: the models differ only in their position table.
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens(size), dim))

    def forward(self, images):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)          # (b, patches, dim)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


def random_vit(name: str, size: int, seed: int) -> ViT:
    """Seeded random weights with DeiT's init scales (truncated normal σ 0.02, zero biases),
    so activations stay in a normal range: a benchmark on NaNs or infinities could be
    faster or slower than on real weights."""
    torch.manual_seed(seed)
    m = ViT(name, size)
    for p_name, p in m.named_parameters():
        if p_name.endswith("bias"):
            nn.init.zeros_(p)
        elif "norm" in p_name:
            nn.init.ones_(p)
        else:
            nn.init.trunc_normal_(p, std=0.02)
    return m.eval()
