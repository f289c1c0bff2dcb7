"""Reads a pack written by pack_data.py into uint8 tensors (n, 3, S, S) plus labels.

Decoding is done once, at start, by a thread pool (Pillow releases the GIL while it
decodes); 13,394 images of 128 px take a few seconds on one core and well under a
second on the GPU machine's 16. The tensors then live on the GPU for the whole run.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image


def load_index(folder: str) -> dict:
    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)
    if index.get("format") != "vim-webgpu-imagenette-pack-v1":
        raise SystemExit(f"{folder}/index.json: not a pack from tools/train/pack_data.py")
    return index


def has_split(folder: str, split: str) -> bool:
    """Whether the pack lists the split and its file is there (a GPU call may carry
    the train split alone)."""
    meta = load_index(folder)["splits"].get(split)
    return meta is not None and os.path.exists(os.path.join(folder, meta["file"]))


def _decode(blob: bytes, size: int) -> np.ndarray:
    with Image.open(io.BytesIO(blob)) as im:
        arr = np.asarray(im.convert("RGB"))
    if arr.shape != (size, size, 3):
        raise ValueError(f"packed image of shape {arr.shape}, index says {size}x{size}")
    return arr


def load_split(folder: str, split: str, limit: int = 0, workers: int = 0, check: bool = True):
    """Returns (images uint8 (n, 3, S, S), labels int64 (n,)) on the CPU.
    limit > 0 keeps an evenly spread subset of that many images (smoke tests)."""
    index = load_index(folder)
    meta, size = index["splits"][split], index["size"]
    with open(os.path.join(folder, meta["file"]), "rb") as f:
        data = f.read()
    if check and hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise SystemExit(f"{folder}/{meta['file']}: checksum differs from index.json (copy damaged?)")
    off, labels = meta["offsets"], meta["labels"]
    keep = range(meta["count"])
    if limit and limit < meta["count"]:
        keep = np.linspace(0, meta["count"] - 1, limit).round().astype(int).tolist()
    blobs = [data[off[i]:off[i + 1]] for i in keep]
    out = np.empty((len(blobs), size, size, 3), np.uint8)
    with ThreadPoolExecutor(workers or min(32, os.cpu_count() or 1)) as pool:
        for i, arr in enumerate(pool.map(lambda b: _decode(b, size), blobs, chunksize=64)):
            out[i] = arr
    x = torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([labels[i] for i in keep], dtype=torch.int64)
    return x, y
