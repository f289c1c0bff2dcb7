"""Joins the two float32 halves that train.py writes (each under the 16 MiB a returned
file may have) into one checkpoint, and checks it:

    python3 tools/train/merge_parts.py --dir RETURNED_FILES [--name vim_ti_imagenette] \
        [--pth OUT.pth] [--safetensors OUT_f32.safetensors]

Writes `{'model': state_dict}` (float32, official key order, what the official code and
our loaders read) and/or one float32 safetensors file with the training metadata.
Checks: every key of the architecture named in the metadata is there exactly once, in
the model's order, with its shape; the model loads the tensors; the float16 copy (if
present) is the float32 one rounded.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import OrderedDict

import torch

if __package__ in (None, ""):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from tools.train import st_io  # noqa: E402
from tools.vim_torch.model import VisionMamba  # noqa: E402


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def merge(folder: str, name: str):
    parts, meta = [], {}
    for i in (1, 2):
        sd, m = st_io.load(os.path.join(folder, f"{name}_f32.part{i}.safetensors"))
        if m.get("part") != f"{i}/2":
            raise SystemExit(f"part {i}: metadata says part {m.get('part')!r}")
        parts.append(sd)
        meta = meta or m
    merged = OrderedDict()
    for sd in parts:
        for k, v in sd.items():
            if k in merged:
                raise SystemExit(f"{k} is in both parts")
            if v.dtype != torch.float32:
                raise SystemExit(f"{k}: {v.dtype}, expected float32")
            merged[k] = v
    arch = json.loads(meta["arch"])
    model = VisionMamba(img_size=arch["img_size"], patch_size=arch["patch_size"], stride=arch["stride"],
                        depth=arch["depth"], embed_dim=arch["embed_dim"], d_state=arch["d_state"],
                        num_classes=arch["num_classes"])
    ref = model.state_dict()
    if list(ref) != list(merged):
        missing, extra = set(ref) - set(merged), set(merged) - set(ref)
        raise SystemExit(f"keys differ from the model's: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
                         if missing or extra else "keys are not in the model's order")
    for k, v in ref.items():
        if v.shape != merged[k].shape:
            raise SystemExit(f"{k}: shape {tuple(merged[k].shape)}, model has {tuple(v.shape)}")
    model.load_state_dict(merged)
    f16 = os.path.join(folder, f"{name}_f16.safetensors")
    if os.path.exists(f16):
        half, _ = st_io.load(f16)
        bad = [k for k in merged if k not in half or not torch.equal(half[k], merged[k].half())]
        if bad or len(half) != len(merged):
            raise SystemExit(f"the float16 file is not the float32 weights rounded ({bad[:3]})")
    meta = {k: v for k, v in meta.items() if k not in ("part", "keys_total")}
    meta["dtype"] = "float32"
    return merged, meta


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="folder holding <name>_f32.part1/2.safetensors")
    p.add_argument("--name", default="vim_ti_imagenette")
    p.add_argument("--pth", help="write {'model': state_dict} here")
    p.add_argument("--safetensors", help="write one float32 safetensors file here")
    a = p.parse_args(argv)
    sd, meta = merge(a.dir, a.name)
    n = sum(v.numel() for v in sd.values())
    print(f"{len(sd)} tensors, {n:,} parameters, arch {meta['arch']}, weights {meta.get('weights')}, "
          f"val top-1 (float32, packed val) {meta.get('val_top1_f32')}")
    if a.pth:
        torch.save({"model": sd}, a.pth)
        print(f"wrote {a.pth} ({os.path.getsize(a.pth) / 2**20:.2f} MiB, sha256 {sha256(a.pth)})")
    if a.safetensors:
        st_io.save(a.safetensors, sd, meta)
        print(f"wrote {a.safetensors} ({os.path.getsize(a.safetensors) / 2**20:.2f} MiB, sha256 {sha256(a.safetensors)})")


if __name__ == "__main__":
    main()
