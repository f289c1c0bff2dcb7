"""Exports the DeiT-Ti / DeiT-S graphs the browser benchmark runs on ONNX Runtime Web.

    python3 bench/deit/export_deit.py [--models deit_ti,deit_s] [--sizes 224,384,...] [--out DIR]

One ONNX file per model and resolution (the position table is sized for the resolution, as
when DeiT is fine-tuned at it), with a dynamic batch axis: `<out>/<model>_<size>.onnx`,
input `images` (B, 3, R, R) float32, output `logits` (B, 1000). Weights are random (seeded)
and identical across resolutions except the position table. Files that already match the
requested export are kept. `<out>/manifest.json` lists every file with its operator counts
and the attention form found in the graph (see `attention_kind`), plus reference logits from
PyTorch at small sizes, so the benchmark can check that ORT computed the same function.

Runs with Debian's torch 1.13 (`/usr/bin/python3`, package python3-torch; `onnx` from
python3-onnx is optional and only used for the operator counts) and with recent torch on the
GPU machine (the TorchScript exporter is asked for where `dynamo` is an option).
"""
import argparse
import hashlib
import inspect
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deit import DIMS, random_vit, tokens  # noqa: E402

SIZES = [224, 384, 512, 640, 738, 1024, 1248]
SEEDS = {"deit_ti": 20240401, "deit_s": 20240402}
CHECK_MAX_SIZE = 384  # PyTorch reference logits only where a CPU forward is quick


def bench_input(batch: int, size: int) -> torch.Tensor:
    """The benchmark's input, sin(0.37·i) over the flat (B, 3, R, R) index, like the Vim bench."""
    i = torch.arange(batch * 3 * size * size, dtype=torch.float64)
    return torch.sin(i * 0.37).float().reshape(batch, 3, size, size)


def attention_kind(op_counts: dict) -> str:
    """'fused' if the graph holds an attention operator (com.microsoft Attention /
    MultiHeadAttention, ONNX Attention from opset 23); 'explicit' if it computes attention
    from MatMul + Softmax; else 'unknown'."""
    if any(op in op_counts for op in ("Attention", "MultiHeadAttention", "GroupQueryAttention")):
        return "fused"
    if op_counts.get("Softmax", 0) > 0 and op_counts.get("MatMul", 0) > 0:
        return "explicit"
    return "unknown"


def op_histogram(path: str):
    try:
        import onnx
    except ImportError:
        return None
    model = onnx.load(path, load_external_data=False)
    counts: dict = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def export(model, size: int, path: str, opset: int, dynamo: bool) -> str:
    """Writes the ONNX file; returns which exporter made it."""
    x = bench_input(1, size)
    kw = dict(input_names=["images"], output_names=["logits"], opset_version=opset,
              dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    has_dynamo = "dynamo" in inspect.signature(torch.onnx.export).parameters
    if has_dynamo:
        kw["dynamo"] = dynamo
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, (x,), tmp, **kw)
    os.replace(tmp, path)
    return "dynamo" if (has_dynamo and dynamo) else "torchscript"


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="deit_ti,deit_s")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--out", default=os.path.join(here, "onnx"))
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--dynamo", action="store_true", help="use torch's dynamo exporter (default: TorchScript)")
    p.add_argument("--force", action="store_true", help="re-export files that already exist")
    args = p.parse_args()
    if args.opset < 17:
        p.error("opset 17 or later (LayerNormalization is a single operator from 17)")
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f).get("files", {})
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    for name in args.models.split(","):
        if name not in DIMS:
            p.error(f"unknown model {name!r} (known: {', '.join(DIMS)})")
        for size in map(int, args.sizes.split(",")):
            fname = f"{name}_{size}.onnx"
            path = os.path.join(args.out, fname)
            want = dict(model=name, size=size, seed=SEEDS[name], opset=args.opset)
            old = manifest.get(fname)
            if not args.force and old and os.path.exists(path) and all(old.get(k) == v for k, v in want.items()) \
                    and old.get("bytes") == os.path.getsize(path):
                print(f"export_deit: {fname} up to date")
                continue
            t0 = time.time()
            model = random_vit(name, size, SEEDS[name])
            exporter = export(model, size, path, args.opset, args.dynamo)
            ops = op_histogram(path)
            entry = dict(want, tokens=tokens(size), params=sum(t.numel() for t in model.parameters()),
                         bytes=os.path.getsize(path), sha256=sha256(path), exporter=exporter,
                         torch=torch.__version__, op_counts=ops,
                         attention_kind=attention_kind(ops) if ops is not None else "explicit (by construction; onnx not installed)")
            if size <= CHECK_MAX_SIZE:
                with torch.no_grad():
                    logits = model(bench_input(1, size))[0]
                entry["reference"] = dict(input="sin(0.37 i) over the flat (1, 3, R, R) index",
                                          logits_first8=[round(float(v), 6) for v in logits[:8]],
                                          logits_norm=round(float(logits.norm()), 6))
            manifest[fname] = entry
            print(f"export_deit: {fname}  L={entry['tokens']}  {entry['bytes'] / 2**20:.1f} MiB  "
                  f"attention {entry['attention_kind']}  ({time.time() - t0:.1f} s, {exporter})")

    with open(manifest_path + ".tmp", "w") as f:
        json.dump(dict(note="generated by bench/deit/export_deit.py; random weights", files=manifest), f, indent=1)
    os.replace(manifest_path + ".tmp", manifest_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
