"""Helpers shared by the PyTorch benchmarks (bench/pytorch_bench.py, bench/official/).

time_runs: per-run GPU time in ms between CUDA events recorded around each call (wall time on
the CPU, where the loop is only being tested). capture_graph: the forward as a CUDA graph, so a
batch-1 case can be timed without the host's kernel launches. on_device: build modules directly
on a device.
"""
from __future__ import annotations

import time

import torch


def time_runs(fn, n: int, cpu: bool = False) -> list[float]:
    if cpu or not torch.cuda.is_available():
        out = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1e3)
        return out
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n)]
    for s, e in ev:
        s.record()
        fn()
        e.record()
    torch.cuda.synchronize()
    return [s.elapsed_time(e) for s, e in ev]


def capture_graph(model, x):
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            model(x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        model(x)
    torch.cuda.synchronize()
    return graph


class on_device:
    """`with torch.device(dev)` (build directly on the GPU) where torch has it (2.0+), else nothing."""

    def __init__(self, dev):
        self.ctx = torch.device(dev) if hasattr(torch.device, "__enter__") else None

    def __enter__(self):
        return self.ctx.__enter__() if self.ctx is not None else None

    def __exit__(self, *a):
        return self.ctx.__exit__(*a) if self.ctx is not None else False
