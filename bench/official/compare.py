"""Our engine's time ÷ the official code's time, per case, from two JSON files of one device call.

    python3 bench/official/compare.py --official official-bench.json --webgpu webgpu-bench.json[,more.json]
                                      [--merge] [--json OUT]

--webgpu takes the files `vim-webgpu bench --json` writes ({results: [...]}, as gpu-run.sh makes
them). Cases are matched on (model, size, stride, batch). Per case:
  gpu_ratio  = our gpuMs  / official latency_ms (the CUDA-graph replay at batch <= 8, i.e. GPU
               time; eager at larger batches, where the GPU sets the pace)
  wall_ratio = our wallMs / official eager_ms (host + GPU, both as an application sees them)
Below 1 we are faster; `speedup_gpu` is the inverse of gpu_ratio. --merge writes the table into
the official JSON under `compare`; --json writes it on its own.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def load_webgpu(paths: list[str]) -> dict:
    out = {}
    for p in paths:
        if not os.path.exists(p):
            print(f"compare: {p}: missing", file=sys.stderr)
            continue
        d = json.load(open(p))
        rows = d.get("results", d.get("webgpu", [])) if isinstance(d, dict) else d
        for r in rows:
            if isinstance(r, dict) and "gpuMs" in r:
                out[(r["model"], int(r["size"]), int(r.get("stride", 16)), int(r["batch"]))] = r
    return out


def compare(official: dict, ours: dict) -> list[dict]:
    rows = []
    for o in official.get("results", []):
        if o.get("status") != "ok":
            continue
        key = (o["model"], o["size"], o["stride"], o["batch"])
        w = ours.get(key)
        if w is None:
            continue
        row = dict(model=key[0], size=key[1], stride=key[2], batch=key[3], tokens=o.get("tokens"),
                   ours_gpu_ms=w["gpuMs"], ours_wall_ms=w.get("wallMs"),
                   official_gpu_ms=o["latency_ms"], official_eager_ms=o["eager_ms"],
                   official_timing="graph" if "graph_ms" in o else "eager",
                   ours_mib=(w["bytesInUse"] / 2**20) if w.get("bytesInUse") else None,
                   official_mib=o.get("peak_mib"), official_check_ok=o.get("check_ok"))
        row["gpu_ratio"] = row["ours_gpu_ms"] / row["official_gpu_ms"]
        row["speedup_gpu"] = 1 / row["gpu_ratio"]
        if row["ours_wall_ms"]:
            row["wall_ratio"] = row["ours_wall_ms"] / row["official_eager_ms"]
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| model | R | stride | batch | ours GPU ms | official GPU ms | ours ÷ official (GPU) | ours wall ms "
             "| official eager ms | ours ÷ official (wall) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        wall = f"{r['ours_wall_ms']:.2f}" if r["ours_wall_ms"] else "-"
        wr = f"{r['wall_ratio']:.2f}" if "wall_ratio" in r else "-"
        lines.append(f"| {r['model']} | {r['size']} | {r['stride']} | {r['batch']} | {r['ours_gpu_ms']:.2f} | "
                     f"{r['official_gpu_ms']:.2f} ({r['official_timing']}) | {r['gpu_ratio']:.2f} | {wall} | "
                     f"{r['official_eager_ms']:.2f} | {wr} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", required=True)
    p.add_argument("--webgpu", required=True, help="comma-separated bench JSON files")
    p.add_argument("--merge", action="store_true", help="write the rows into the official JSON (`compare`)")
    p.add_argument("--json")
    a = p.parse_args()
    official = json.load(open(a.official))
    ours = load_webgpu([f for f in a.webgpu.split(",") if f])
    rows = compare(official, ours)
    print(table(rows))
    if not rows:
        print(f"compare: no case in both ({len(ours)} engine cases, "
              f"{sum(r.get('status') == 'ok' for r in official.get('results', []))} official)")
    doc = dict(note="ratio = our time / official time (below 1: we are faster)", gpu=official.get("gpu"),
               official_setup=official.get("setup"), rows=rows)
    if a.merge:
        official["compare"] = doc
        json.dump(official, open(a.official, "w"), indent=1)
    if a.json:
        json.dump(doc, open(a.json, "w"), indent=1)
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
