"""Logits of a Vim checkpoint for a preprocessed input, with our PyTorch model.
For checking the WebGPU engine against PyTorch on real weights.

    python3 -m tools.vim_torch.infer --weights vim_t_midclstok_76p1acc.pth \
        --input x.bin --size 224 [--batch 1] [--stride 16] [--device cuda] [--compile] \
        [--scan auto|chunked|sequential] [--out logits.bin]

--input: raw little-endian float32, (batch, 3, size, size), already normalised
(the engine's `infer --out`/fixtures use this format). Prints the top-5 per image.
The checkpoint's pos_embed must match size/stride (no interpolation here).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from .model import VisionMamba
from .scan import IMPLS, last_impl


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--stride", type=int, default=16)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--scan", default="auto", choices=IMPLS)
    p.add_argument("--compile", action="store_true", help="torch.compile the model (torch >= 2)")
    p.add_argument("--out", help="write the logits here (float32 LE)")
    a = p.parse_args(argv)

    if a.device == "cuda":  # exact float32, as the engine and the released checkpoints
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    ckpt = torch.load(a.weights, map_location="cpu", weights_only=False)
    sd = ckpt["model"] if isinstance(ckpt, dict) and "model" in ckpt else ckpt
    L = sd["pos_embed"].shape[1]
    want = ((a.size - 16) // a.stride + 1) ** 2 + 1
    if L != want:
        sys.exit(f"infer: checkpoint has {L} positions, size {a.size} stride {a.stride} needs {want}")
    model = VisionMamba.from_state_dict(sd, img_size=a.size, stride=a.stride, scan_impl=a.scan).to(a.device).eval()
    if a.compile:
        model = torch.compile(model)
    x = np.fromfile(a.input, dtype="<f4").reshape(a.batch, 3, a.size, a.size)
    with torch.no_grad():
        logits = model(torch.from_numpy(x).to(a.device)).float().cpu()
    print(f"scan: {last_impl()}; logits {tuple(logits.shape)}")
    for i, row in enumerate(logits):
        top = torch.topk(row, min(5, row.numel()))
        print(f"  image {i}: " + "  ".join(f"{int(c)}:{v:.4f}" for v, c in zip(top.values, top.indices)))
    if a.out:
        logits.numpy().astype("<f4").tofile(a.out)


if __name__ == "__main__":
    main()
