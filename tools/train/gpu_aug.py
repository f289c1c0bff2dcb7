"""Training augmentation on GPU tensors (batched, no CPU pipeline, no per-image loop).

The decoded training set sits on the GPU as uint8 (n, 3, S, S); each batch is turned
into normalised float input here:

* random resized crop + horizontal flip (+ optional small rotation) as ONE affine
  `grid_sample` per batch: every image gets its own 2x3 matrix (crop area fraction
  uniform in `scale`, aspect ratio log-uniform in `ratio`, as torchvision samples them;
  a crop that would not fit is shrunk instead of resampled), bilinear, reflection
  padding for the corners a rotation brings in;
* colour jitter (brightness, contrast, saturation), per image;
* ImageNet mean/std normalisation (what the eval transform ends with);
* random erasing of one box per image with per-pixel Gaussian noise (timm's 'pixel'
  mode, as the DeiT / Vim recipe);
* mixup / cutmix on the batch with its reverse (timm's batch mode) and label
  smoothing, giving soft targets.

Random numbers come from one torch.Generator on the device and one Python RNG
(the Beta draws), both seeded by the caller.
"""
from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
_GRAY = (0.299, 0.587, 0.114)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """float [0, 1] (B, 3, H, W) -> (x - mean) / std."""
    m = x.new_tensor(MEAN).view(1, 3, 1, 1)
    s = x.new_tensor(STD).view(1, 3, 1, 1)
    return (x - m) / s


def to_input(x_u8: torch.Tensor) -> torch.Tensor:
    """Eval path: uint8 images already at the model size -> normalised float."""
    return normalize(x_u8.float() / 255.0)


def _gray(x: torch.Tensor) -> torch.Tensor:
    w = x.new_tensor(_GRAY).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


class GpuAugment:
    def __init__(self, size: int, generator: torch.Generator, scale=(0.25, 1.0), ratio=(3 / 4, 4 / 3),
                 hflip: float = 0.5, rotate_deg: float = 0.0, jitter: float = 0.3, jitter_p: float = 0.8,
                 erase_p: float = 0.25):
        self.size, self.g = size, generator
        self.scale, self.ratio = scale, ratio
        self.hflip, self.rotate, self.jitter, self.jitter_p, self.erase_p = hflip, rotate_deg, jitter, jitter_p, erase_p

    def _u(self, n: int, lo: float, hi: float, device) -> torch.Tensor:
        return torch.rand(n, generator=self.g, device=device) * (hi - lo) + lo

    def crop_flip(self, x: torch.Tensor) -> torch.Tensor:
        """x float (B, 3, S0, S0) in [0, 1] -> (B, 3, size, size)."""
        B, dev = x.shape[0], x.device
        area = self._u(B, self.scale[0], self.scale[1], dev)
        logr = self._u(B, math.log(self.ratio[0]), math.log(self.ratio[1]), dev)
        w = torch.sqrt(area * torch.exp(logr)).clamp(max=1.0)     # crop width / source width
        h = torch.sqrt(area / torch.exp(logr)).clamp(max=1.0)
        cx = (torch.rand(B, generator=self.g, device=dev) * 2 - 1) * (1 - w)   # normalised centre
        cy = (torch.rand(B, generator=self.g, device=dev) * 2 - 1) * (1 - h)
        flip = torch.where(torch.rand(B, generator=self.g, device=dev) < self.hflip, -1.0, 1.0)
        ang = self._u(B, -self.rotate, self.rotate, dev) * (math.pi / 180) if self.rotate > 0 else torch.zeros(B, device=dev)
        c, s = torch.cos(ang), torch.sin(ang)
        # output coords -> scale (w * flip, h) -> rotate -> translate to the crop centre
        theta = torch.stack([torch.stack([c * w * flip, -s * h, cx], 1),
                             torch.stack([s * w * flip, c * h, cy], 1)], 1)
        grid = F.affine_grid(theta, [B, 3, self.size, self.size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def color(self, x: torch.Tensor) -> torch.Tensor:
        if self.jitter <= 0:
            return x
        B, dev = x.shape[0], x.device
        on = (torch.rand(B, generator=self.g, device=dev) < self.jitter_p).float()

        def factor():  # 1 for images not jittered
            return (1 + on * self._u(B, -self.jitter, self.jitter, dev)).view(B, 1, 1, 1)
        x = x * factor()                                         # brightness
        m = _gray(x).mean((1, 2, 3), keepdim=True)
        x = (x - m) * factor() + m                               # contrast
        gy = _gray(x)
        x = (x - gy) * factor() + gy                             # saturation
        return x.clamp(0, 1)

    def erase(self, x: torch.Tensor) -> torch.Tensor:
        """One box of Gaussian noise per image with probability erase_p (after normalising)."""
        if self.erase_p <= 0:
            return x
        B, _, H, W = x.shape
        dev = x.device
        area = self._u(B, 0.02, 1 / 3, dev) * (H * W)
        logr = self._u(B, math.log(0.3), math.log(1 / 0.3), dev)
        eh = torch.sqrt(area * torch.exp(logr)).round().clamp(1, H)
        ew = torch.sqrt(area / torch.exp(logr)).round().clamp(1, W)
        top = (torch.rand(B, generator=self.g, device=dev) * (H - eh + 1)).floor()
        left = (torch.rand(B, generator=self.g, device=dev) * (W - ew + 1)).floor()
        on = torch.rand(B, generator=self.g, device=dev) < self.erase_p
        ys = torch.arange(H, device=dev).view(1, H, 1)
        xs = torch.arange(W, device=dev).view(1, 1, W)
        box = ((ys >= top.view(B, 1, 1)) & (ys < (top + eh).view(B, 1, 1)) &
               (xs >= left.view(B, 1, 1)) & (xs < (left + ew).view(B, 1, 1)) & on.view(B, 1, 1))
        noise = torch.randn(x.shape, generator=self.g, device=dev, dtype=x.dtype)
        return torch.where(box.unsqueeze(1), noise, x)

    def __call__(self, x_u8: torch.Tensor) -> torch.Tensor:
        x = self.crop_flip(x_u8.float() / 255.0)
        x = self.color(x)
        return self.erase(normalize(x))


class MixCut:
    """Batch-mode mixup / cutmix with the reversed batch, plus label smoothing."""

    def __init__(self, num_classes: int, rng: random.Random, mixup_alpha: float = 0.8, cutmix_alpha: float = 1.0,
                 prob: float = 1.0, switch_prob: float = 0.5, smoothing: float = 0.1):
        self.k, self.rng = num_classes, rng
        self.mixup_alpha, self.cutmix_alpha, self.prob, self.switch_prob = mixup_alpha, cutmix_alpha, prob, switch_prob
        self.smoothing = smoothing

    def soft(self, y: torch.Tensor) -> torch.Tensor:
        off = self.smoothing / self.k
        return torch.full((y.shape[0], self.k), off, device=y.device).scatter_(1, y.view(-1, 1), 1 - self.smoothing + off)

    def __call__(self, x: torch.Tensor, y: torch.Tensor):
        t = self.soft(y)
        use = (self.mixup_alpha > 0 or self.cutmix_alpha > 0) and self.rng.random() < self.prob
        if not use:
            return x, t
        cut = self.cutmix_alpha > 0 and (self.mixup_alpha <= 0 or self.rng.random() < self.switch_prob)
        if cut:
            lam = self.rng.betavariate(self.cutmix_alpha, self.cutmix_alpha)
            H, W = x.shape[-2:]
            r = math.sqrt(1 - lam)
            ch, cw = int(H * r), int(W * r)
            cy, cx = self.rng.randrange(H), self.rng.randrange(W)
            y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, H)
            x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, W)
            x = x.clone()
            x[:, :, y0:y1, x0:x1] = x.flip(0)[:, :, y0:y1, x0:x1]
            lam = 1 - (y1 - y0) * (x1 - x0) / (H * W)             # the area actually pasted
        else:
            lam = self.rng.betavariate(self.mixup_alpha, self.mixup_alpha)
            x = x * lam + x.flip(0) * (1 - lam)
        return x, t * lam + t.flip(0) * (1 - lam)
