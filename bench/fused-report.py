"""Markdown tables from one bench/fused-run.sh call: the fused engine (after.json), the engine
before the fusion (before.json), the official CUDA code (official-bench.json) and DeiT-Ti with
SDPA (deit.json), all from the same GPU in the same call.

    python3 bench/fused-report.py DIR > DIR/report.md
"""
from __future__ import annotations

import json
import os
import sys


def load(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    return json.load(open(path)).get("results", [])


def key(r: dict) -> tuple:
    return (r["model"], int(r["size"]), int(r.get("stride", 16)), int(r["batch"]))


def best(rows: list[dict]) -> dict:
    """Per case, the fastest schedule on GPU time (the one `auto` should pick)."""
    out: dict = {}
    for r in rows:
        k = key(r)
        t = r.get("gpuMs") or r["wallMs"]
        if k not in out or t < (out[k].get("gpuMs") or out[k]["wallMs"]):
            out[k] = r
    return out


def fmt(v, spec=".2f") -> str:
    return "–" if v is None else format(v, spec)


def main() -> int:
    d = sys.argv[1]
    after, before = load(f"{d}/after.json"), load(f"{d}/before.json")
    official = {key(r): r for r in load(f"{d}/official-bench.json") if r.get("status") == "ok"}
    deit = {key(r): r for r in load(f"{d}/deit.json") if r.get("status") == "ok"}
    b_best = best(before)
    print("### Every engine case (schedule as run; GPU time from timestamps, wall = upload + encode + GPU)\n")
    print("| model | px | stride | batch | scan | schedule | dispatches | GPU ms | wall ms | resident wall ms | encode ms | img/s (GPU) | live MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in after:
        print(f"| {r['model']} | {r['size']} | {r['stride']} | {r['batch']} | {r['scan']} | {r['schedule']} | {r['dispatches']} | "
              f"{fmt(r.get('gpuMs'))} | {fmt(r['wallMs'])} | {fmt(r.get('residentWallMs'))} | {fmt(r.get('encodeMs'), '.3f')} | "
              f"{r['imagesPerSecond']:.0f} | {r['bytesInUse'] / 2**20:.0f} |")
    print("\n### Side by side (best schedule of each engine; ratios: other ÷ fused, above 1 = fused is faster)\n")
    print("| model | px | batch | fused GPU ms | before GPU ms | before ÷ fused | official GPU ms | official ÷ fused | DeiT-Ti SDPA ms | DeiT ÷ fused | fused wall ms | official eager ms | fused MiB | official MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for k, r in sorted(best(after).items()):
        g = r.get("gpuMs") or r["wallMs"]
        b, o = b_best.get(k), official.get(k)
        dk = ("deit_ti", k[1], 16, k[3]) if k[0] == "vim_ti" and k[2] == 16 else None
        de = deit.get(dk) if dk else None
        bg = (b.get("gpuMs") or b["wallMs"]) if b else None
        print(f"| {k[0]}{'' if k[2] == 16 else ' s8'} | {k[1]} | {k[3]} | {g:.2f} | {fmt(bg)} | {fmt(bg / g if bg else None)} | "
              f"{fmt(o['latency_ms'] if o else None)} | {fmt(o['latency_ms'] / g if o else None)} | "
              f"{fmt(de['latency_ms'] if de else None)} | {fmt(de['latency_ms'] / g if de else None)} | "
              f"{r['wallMs']:.2f} | {fmt(o['eager_ms'] if o else None)} | {r['bytesInUse'] / 2**20:.0f} | {fmt(o['peak_mib'] if o else None, '.0f')} |")
    print("\n### Per kernel class, fused vs before (ms per forward, summed over the 24 layers)\n")
    for k, r in sorted(best(after).items()):
        b = b_best.get(k)
        if not b:
            continue
        print(f"**{k[0]} {k[1]} px, batch {k[3]}** — fused ({r['schedule']}, {r['dispatches']} dispatches): "
              + ", ".join(f"{x['kernel']} {x['ms']:.3f}" for x in r["kernels"])
              + f"; before ({b.get('dispatches', '219')} dispatches): " + ", ".join(f"{x['kernel']} {x['ms']:.3f}" for x in b["kernels"]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
