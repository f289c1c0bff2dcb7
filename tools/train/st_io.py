"""Minimal safetensors writer and reader (torch + numpy only).

Why our own: Debian's torch has no `safetensors` package, and we want the tensors in
the official state-dict order (the package sorts them). The format is small: an 8-byte
little-endian header length, a JSON header {name: {dtype, shape, data_offsets}} with an
optional "__metadata__" {str: str}, padded with spaces to a multiple of 8, then the raw
little-endian data. Where the `safetensors` package imports (the GPU machine), train.py
re-reads every file it writes with it, as an independent check.
"""
from __future__ import annotations

import json
import struct
from collections import OrderedDict

import numpy as np
import torch

_DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
       torch.int32: "I32", torch.uint8: "U8"}
_NP = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def _raw(t: torch.Tensor) -> bytes:
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits as int16
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()


def save(path: str, tensors: "OrderedDict[str, torch.Tensor]", metadata: dict | None = None) -> int:
    """Writes the tensors in the given order; returns the file size."""
    header, blobs, pos = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        if t.dtype not in _DT:
            raise TypeError(f"{name}: dtype {t.dtype} not supported")
        raw = _raw(t)
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for raw in blobs:
            f.write(raw)
    return 8 + len(hj) + pos


def load(path: str):
    """Returns (OrderedDict name -> tensor, metadata dict), in the file's order."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode(), object_pairs_hook=OrderedDict)
    meta = header.pop("__metadata__", {}) or {}
    base, out = 8 + n, OrderedDict()
    for name, info in header.items():
        b, e = info["data_offsets"]
        buf = data[base + b:base + e]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(buf, "<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(buf, np.dtype(_NP[info["dtype"]]).newbyteorder("<")).astype(
                _NP[info["dtype"]]))
        out[name] = t.reshape(info["shape"])
    return out, dict(meta)


def cross_check(path: str, tensors: "OrderedDict[str, torch.Tensor]") -> str:
    """Re-reads `path` with the safetensors package, when it imports; says what it found."""
    try:
        from safetensors.torch import load_file
    except Exception:
        return "safetensors package not importable here; not cross-checked"
    got = load_file(path)
    if set(got) != set(tensors):
        raise RuntimeError(f"{path}: safetensors package reads other tensor names")
    for k, t in tensors.items():
        if got[k].dtype != t.dtype or not torch.equal(got[k], t.detach().cpu()):
            raise RuntimeError(f"{path}: safetensors package reads {k} differently")
    return "re-read with the safetensors package: identical"
