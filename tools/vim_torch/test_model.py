"""Checks our PyTorch Vim against the official-code fixtures, and our chunked
scan against the sequential one. Run from the repo root:

    python3 -m tools.vim_torch.test_model [--quick] [--time]
    (or: python3 tools/vim_torch/test_model.py)

Prints the max errors and exits non-zero when a check fails. CPU is enough
(a minute or two; --quick skips the four 24-layer cases, --time adds scan
timings).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make `tools.vim_torch` importable
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    __package__ = "tools.vim_torch"

from .model import VisionMamba, vim_config  # noqa: E402
from .procedural import procedural_state_dict  # noqa: E402
from .scan import _scan_, mamba_available, selective_scan  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "test", "fixtures", "vim")
failures: list[str] = []


def check(name: str, err: float, tol: float) -> None:
    ok = err <= tol
    print(f"  {'ok  ' if ok else 'FAIL'} {name}: max err {err:.3g} (tol {tol:g})")
    if not ok:
        failures.append(name)


def load_bin(name: str, shape) -> torch.Tensor:
    return torch.from_numpy(np.fromfile(os.path.join(FIX, name), dtype="<f4").reshape(shape).copy())


def test_fixtures() -> None:
    print("fixtures (official code outputs, test/fixtures/vim):")
    sd = torch.load(os.path.join(FIX, "tiny.pth"), map_location="cpu", weights_only=False)["model"]
    for impl, chunk in (("chunked", 0), ("chunked", 4), ("chunked", 17), ("sequential", 0)):
        model = VisionMamba.from_state_dict(sd, scan_impl=impl, chunk=chunk).eval()
        for inp, ref, B in (("tiny_input.bin", "tiny_logits.bin", 1),
                            ("tiny_batch2_input.bin", "tiny_batch2_logits.bin", 2)):
            with torch.no_grad():
                out = model(load_bin(inp, (B, 3, 64, 64)))
            err = (out - load_bin(ref, (B, 10))).abs().max().item()
            check(f"tiny logits, batch {B}, scan {impl}" + (f" chunk {chunk}" if chunk else ""), err, 1e-4)
    # Same keys, order and shapes as the official state dict, and a round trip.
    ours = model.state_dict()
    same = list(ours) == list(sd) and all(ours[k].shape == sd[k].shape for k in sd)
    check("state_dict keys/order/shapes equal the official", 0.0 if same else 1.0, 0.0)


def test_fixtures_24_layers() -> None:
    print("24-layer fixtures (procedural weights vim-proc-v1, official-code logits):")
    cases = (  # case, seed, D, img, stride, tokens, input file
        ("vim_ti_224", 20240217, 192, 224, 16, 197, "vim_input_224.bin"),
        ("vim_ti_s8_224", 20240217, 192, 224, 8, 730, "vim_input_224.bin"),
        ("vim_ti_320", 20240217, 192, 320, 16, 401, "vim_input_320.bin"),
        ("vim_s_224", 20240317, 384, 224, 16, 197, "vim_input_224.bin"))
    for case, seed, D, img, stride, L, inp in cases:
        sd = procedural_state_dict(seed, D, L)
        model = VisionMamba(img_size=img, stride=stride, embed_dim=D, scan_impl="chunked")
        model.load_state_dict(sd)
        with torch.no_grad():
            out = model.eval()(load_bin(inp, (1, 3, img, img)))
        err = (out - load_bin(f"{case}_logits.bin", (1, 1000))).abs().max().item()
        check(f"{case} logits (L {L})", err, 1e-4)


def test_param_counts() -> None:
    print("parameter counts of the released configurations (docs/model.md section 1):")
    want = {("vim_ti", 16): 7_148_008, ("vim_ti", 8): 7_250_344,
            ("vim_s", 16): 25_796_584, ("vim_s", 8): 26_001_256}
    for (name, stride), n in want.items():
        m = VisionMamba(img_size=224, stride=stride, **vim_config(name))
        got = sum(p.numel() for p in m.parameters())
        check(f"{name} stride {stride}: {got:,} params", abs(got - n), 0)


def random_scan_inputs(b, E, N, L, G, dtype, scale_dt=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    return dict(u=r(b, E, L), delta=r(b, E, L) * scale_dt, A=-torch.exp(r(E, N) * 0.5 + 0.5),
                B=r(b, G, N, L) if G > 1 else r(b, N, L), C=r(b, G, N, L) if G > 1 else r(b, N, L),
                D=r(E), z=r(b, E, L), delta_bias=r(E) * 0.5)


def test_scan() -> None:
    print("chunked scan vs sequential scan (random inputs, float32):")
    cases = (  # b, E, N, L, groups, chunk (0 = auto), max_elems, delta scale
        (2, 8, 4, 1, 1, 0, 1 << 28, 1.0), (2, 8, 4, 17, 1, 4, 1 << 28, 1.0),
        (1, 16, 16, 197, 2, 0, 1 << 28, 1.0), (2, 12, 16, 300, 2, 64, 1 << 28, 1.0),
        (1, 8, 8, 1025, 1, 16, 1 << 28, 1.0), (1, 8, 4, 257, 2, 256, 1 << 28, 1.0),
        (3, 8, 4, 50, 2, 7, 2000, 1.0),     # blocks over batch and channels
        (1, 8, 4, 400, 1, 32, 1 << 28, 30.0))  # big steps: decay underflows, no overflow
    for (b, E, N, L, G, chunk, me, s) in cases:
        kw = random_scan_inputs(b, E, N, L, G, torch.float32, s)
        ref = selective_scan(**kw, delta_softplus=True, impl="sequential")
        out = selective_scan(**kw, delta_softplus=True, impl="chunked", chunk=chunk, max_elems=me)
        rel = ((out - ref).abs().max() / ref.abs().max()).item()
        finite = bool(torch.isfinite(out).all())
        check(f"b{b} E{E} N{N} L{L} groups {G} chunk {chunk or 'auto'} max_elems {me} dt x{s:g} (relative)",
              rel if finite else float("inf"), 2e-6)

    print("in-place two-level recurrence against a direct loop (float64):")
    for reverse in (False, True):
        a, x = torch.rand(1000, 3, 5, dtype=torch.float64), torch.randn(1000, 3, 5, dtype=torch.float64)
        h, ref = torch.zeros(3, 5, dtype=torch.float64), [None] * 1000
        for t in (range(999, -1, -1) if reverse else range(1000)):
            h = a[t] * h + x[t]
            ref[t] = h
        out = x.clone()  # reference: h_t = a_t h_(t-1 or t+1) + x_t
        _scan_(out, a, 8, reverse)
        check(f"{'reverse' if reverse else 'forward'} recurrence, L 1000, chunk 8",
              (out - torch.stack(ref)).abs().max().item(), 1e-12)

    print("gradients of the chunked scan (hand-written backward) vs autograd of the sequential one (float64):")
    for (b, E, N, L, G, chunk, me) in ((2, 6, 4, 45, 2, 8, 1 << 28), (3, 8, 4, 30, 1, 0, 900), (1, 4, 3, 5, 2, 0, 1 << 28)):
        kw = random_scan_inputs(b, E, N, L, G, torch.float64, seed=1)
        grads = {}
        for impl in ("sequential", "chunked"):
            leaves = {k: v.clone().requires_grad_(True) for k, v in kw.items()}
            y = selective_scan(**leaves, delta_softplus=True, impl=impl, chunk=chunk, max_elems=me)
            (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
            grads[impl] = {k: v.grad for k, v in leaves.items()}
        err = max((grads["chunked"][k] - grads["sequential"][k]).abs().max().item() for k in kw)
        check(f"all input gradients, b{b} E{E} N{N} L{L} groups {G} chunk {chunk or 'auto'} max_elems {me}", err, 1e-10)

    print("model backward (training path): finite gradients on every parameter:")
    torch.manual_seed(0)
    m = VisionMamba(img_size=32, depth=2, embed_dim=16, d_state=4, num_classes=5, drop_path_rate=0.1,
                    scan_impl="chunked", chunk=4).train()
    loss = torch.nn.functional.cross_entropy(m(torch.randn(3, 3, 32, 32)), torch.tensor([0, 1, 2]))
    loss.backward()
    bad = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    check("parameters without a finite gradient: " + (", ".join(bad) or "none"), len(bad), 0)


def time_scans() -> None:
    print("timing on this machine (Vim-Ti shapes, one layer, both directions, batch 1):")
    kw = random_scan_inputs(1, 768, 16, 197, 2, torch.float32)
    for impl, chunk in (("sequential", 0), ("chunked", 0), ("chunked", 8), ("chunked", 64)):
        with torch.no_grad():
            t0 = time.perf_counter()
            for _ in range(3):
                selective_scan(**kw, delta_softplus=True, impl=impl, chunk=chunk)
        print(f"  {impl:10s} {('chunk ' + str(chunk or 'auto')) if impl == 'chunked' else '':10s} {(time.perf_counter() - t0) / 3 * 1e3:8.1f} ms")


if __name__ == "__main__":
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    print(f"torch {torch.__version__}; mamba_ssm selective_scan_fn importable: {mamba_available()}")
    test_fixtures()
    if "--quick" not in sys.argv:
        test_fixtures_24_layers()
    test_param_counts()
    test_scan()
    if "--time" in sys.argv:
        time_scans()
    print("FAILED: " + "; ".join(failures) if failures else "all checks passed")
    sys.exit(1 if failures else 0)
