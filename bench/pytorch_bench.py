"""PyTorch reference numbers for the WebGPU engine, on the same GPU in the same call.

Our PyTorch Vim (tools/vim_torch; no custom kernels, our chunked scan) and
timm's DeiT (SDPA attention); Vim on the WebGPU bench's procedural weights
(vim-proc-v1, same seeds), DeiT on timm's random init; eval, float32, TF32 off.
Per case: >= 3 warm-ups, then the median of >= 20 CUDA-event-timed forwards,
eagerly and (for small batches) as a replayed CUDA graph, which removes the
host's launch cost and is the GPU latency; images/s from the better of the
two; peak memory = torch.cuda.max_memory_allocated (weights + input + work).

A time budget keeps the whole run short: cases run in priority order (batch
1, then 64, then 8; Ti before S), a case is skipped when its predicted cost
(from a warm-up, or extrapolated from the previous size) does not fit, and
skipped cases are listed with the reason. Before timing, two checks on the
GPU: our model on the `tiny`, `vim_ti_224` and `vim_ti_s8_224` fixtures
(official-code logits) and our chunked scan against the sequential one.

    python3 bench/pytorch_bench.py --json out.json [--budget 200] [--models vim_ti,deit_ti]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_common  # noqa: E402
from tools.vim_torch import scan as vscan  # noqa: E402
from tools.vim_torch.model import VisionMamba, vim_config  # noqa: E402
from tools.vim_torch.procedural import SEEDS, procedural_state_dict  # noqa: E402

T0 = time.monotonic()
DEV = "cuda"  # "cpu" under --cpu-smoke: a quick test of this script's logic on a machine without a GPU
OOM = getattr(torch.cuda, "OutOfMemoryError", RuntimeError)
TIMM_NAMES = {"deit_ti": "vit_tiny_patch16_224", "deit_s": "vit_small_patch16_224"}


def elapsed() -> float:
    return time.monotonic() - T0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", help="write results here")
    p.add_argument("--models", default="vim_ti,deit_ti,vim_s,deit_s")
    p.add_argument("--sizes", default="224,512,1024,1248", help="stride-16 input sizes")
    p.add_argument("--stride8-sizes", default="224", help="Vim sizes also run with patch stride 8 ('' for none)")
    p.add_argument("--batches", default="1,64,8", help="in priority order")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--budget", type=float, default=200.0, help="seconds for the whole script")
    p.add_argument("--case-cap", type=float, default=25.0, help="skip a case predicted to take longer (s)")
    p.add_argument("--graph-max-batch", type=int, default=8, help="CUDA-graph timing up to this batch")
    p.add_argument("--scan", default="auto", choices=vscan.IMPLS, help="Vim selective-scan implementation")
    p.add_argument("--chunk", type=int, default=0, help="chunked scan: tokens per chunk (0 = auto)")
    p.add_argument("--compile", default="off", choices=["off", "default", "max-autotune-no-cudagraphs"],
                   help="torch.compile mode for both model families (compile time counts in the budget)")
    p.add_argument("--deit-attn", default="sdpa", choices=["sdpa", "explicit"])
    p.add_argument("--weights", default="procedural", choices=["procedural", "random"],
                   help="Vim weights: the WebGPU bench's procedural ones (vim-proc-v1) or the training init")
    p.add_argument("--cpu-smoke", action="store_true", help="run on the CPU (tests the script, times nothing useful)")
    return p.parse_args()


def set_precision():
    """Plain float32: no TF32 in matmuls or convolutions."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.benchmark = True


# -- correctness checks on the GPU ----------------------------------------

def gpu_checks(args) -> dict:
    out = {}
    fix = os.path.join(ROOT, "test", "fixtures", "vim")
    try:
        sd = torch.load(os.path.join(fix, "tiny.pth"), map_location="cpu", weights_only=False)["model"]
        m = VisionMamba.from_state_dict(sd, scan_impl=args.scan, chunk=args.chunk).to(DEV).eval()
        x = np.fromfile(os.path.join(fix, "tiny_batch2_input.bin"), dtype="<f4").reshape(2, 3, 64, 64)
        ref = np.fromfile(os.path.join(fix, "tiny_batch2_logits.bin"), dtype="<f4").reshape(2, 10)
        with torch.no_grad():
            got = m(torch.from_numpy(x).to(DEV)).cpu().numpy()
        out["tiny_fixture_logits_max_err"] = float(np.abs(got - ref).max())
        out["tiny_fixture_scan_impl"] = vscan.last_impl()
        x = torch.from_numpy(np.fromfile(os.path.join(fix, "vim_input_224.bin"), dtype="<f4").reshape(1, 3, 224, 224))
        for case, stride, L in (("vim_ti_224", 16, 197), ("vim_ti_s8_224", 8, 730)):  # 24 layers, full width
            m = VisionMamba(img_size=224, stride=stride, scan_impl=args.scan, chunk=args.chunk, **vim_config("vim_ti"))
            m.load_state_dict(procedural_state_dict(SEEDS["vim_ti"], 192, L, device=DEV))
            with torch.no_grad():
                got = m.to(DEV).eval()(x.to(DEV)).cpu().numpy()
            ref = np.fromfile(os.path.join(fix, f"{case}_logits.bin"), dtype="<f4").reshape(1, 1000)
            out[f"{case}_fixture_logits_max_err"] = float(np.abs(got - ref).max())
    except Exception as e:  # report, keep benchmarking
        out["fixture_error"] = repr(e)[:300]
    g = torch.Generator(device=DEV).manual_seed(0)
    b, E, N, L = 2, 64, 16, 300
    r = lambda *s: torch.randn(*s, device=DEV, generator=g)  # noqa: E731
    kw = dict(u=r(b, E, L), delta=r(b, E, L), A=-torch.exp(r(E, N)), B=r(b, 2, N, L), C=r(b, 2, N, L),
              D=r(E), z=r(b, E, L), delta_bias=r(E), delta_softplus=True)
    ref = vscan.selective_scan(**kw, impl="sequential")
    for impl in ("chunked", args.scan):
        if impl in ("sequential", "auto") or f"scan_{impl}_vs_sequential_rel_err" in out:
            continue
        try:
            y = vscan.selective_scan(**kw, impl=impl, chunk=args.chunk)
            out[f"scan_{impl}_vs_sequential_rel_err"] = float((y - ref).abs().max() / ref.abs().max())
        except Exception as e:
            out[f"scan_{impl}_error"] = repr(e)
    return out


# -- models ----------------------------------------------------------------

def tokens_of(arch: str, size: int, stride: int) -> int:
    g = (size - 16) // stride + 1
    return g * g + 1


def build(name: str, size: int, stride: int, args):
    with _on(DEV):  # initialise on the GPU: much faster than on the host
        if name.startswith("vim"):
            m = VisionMamba(img_size=size, stride=stride, scan_impl=args.scan, chunk=args.chunk, **vim_config(name))
            if args.weights == "procedural":  # the same numbers the WebGPU bench runs on
                m.load_state_dict(procedural_state_dict(SEEDS[name], m.embed_dim, m.pos_embed.shape[1], device=DEV))
        else:
            import timm
            if args.deit_attn == "explicit":
                from timm.layers import set_fused_attn
                set_fused_attn(False)  # read by each Attention at construction
            m = timm.create_model(TIMM_NAMES[name], pretrained=False, img_size=size, num_classes=1000)
    m = m.to(DEV).eval()
    m.param_bytes = sum(t.numel() * t.element_size() for t in list(m.parameters()) + list(m.buffers()))
    if args.compile != "off":
        m = torch.compile(m, mode=args.compile)
    return m


_on = torch_common.on_device


def time_runs(fn, n: int) -> list[float]:
    return torch_common.time_runs(fn, n, cpu=DEV == "cpu")


capture_graph = torch_common.capture_graph


def run_case(model, name, size, stride, batch, args, remaining: float, predicted_ms: float | None) -> dict:
    rec = dict(model=name, arch="vim" if name.startswith("vim") else "deit", size=size, stride=stride,
               tokens=tokens_of(name, size, stride), batch=batch)
    n, w = args.runs, args.warmup
    # A graph only pays where the host's launches, not the GPU, set the pace.
    use_graph = DEV == "cuda" and batch <= args.graph_max_batch and (predicted_ms is None or predicted_ms < 100)
    reps = (w + n) * (2 if use_graph else 1)
    limit = min(args.case_cap, remaining)
    if predicted_ms is not None and reps * predicted_ms / 1e3 > limit:
        return dict(rec, status="skipped", reason=f"predicted {reps * predicted_ms / 1e3:.0f} s > {limit:.0f} s",
                    predicted_ms=predicted_ms)
    mem = torch.cuda if DEV == "cuda" else None
    if mem:
        mem.empty_cache()
        mem.reset_peak_memory_stats()
    base = mem.memory_allocated() if mem else 0
    x = torch.randn(batch, 3, size, size, device=DEV)
    with torch.no_grad():
        t_first = time_runs(lambda: model(x), 1)[0]           # includes first-call work (compile, cudnn)
        t_second = time_runs(lambda: model(x), 1)[0]
        use_graph = use_graph and t_second < 100
        reps = (w + n) * (2 if use_graph else 1)
        if reps * t_second / 1e3 > limit:
            return dict(rec, status="skipped", reason=f"predicted {reps * t_second / 1e3:.0f} s > {limit:.0f} s",
                        single_run_ms=t_second, first_run_ms=t_first)
        time_runs(lambda: model(x), max(0, w - 2))
        eager = time_runs(lambda: model(x), n)
        # Peak of this model alone: its weights, plus input and work above what was allocated before.
        peak = (mem.max_memory_allocated() if mem else 0) - base + model.param_bytes
        rec.update(status="ok", runs=n, warmup=w, first_run_ms=t_first,
                   eager_ms=statistics.median(eager), eager_min_ms=min(eager),
                   peak_bytes=peak, peak_mib=peak / 2**20, weight_bytes=model.param_bytes)
        if use_graph:
            try:
                graph = capture_graph(model, x)
                time_runs(graph.replay, w)
                rec["graph_ms"] = statistics.median(time_runs(graph.replay, n))
                del graph
            except Exception as e:  # a model that cannot be captured still has eager numbers
                rec["graph_error"] = repr(e)[:300]
    best = min(v for v in (rec.get("eager_ms"), rec.get("graph_ms")) if v is not None)
    rec["latency_ms"] = best
    rec["images_per_s"] = batch / (best / 1e3)
    if rec["arch"] == "vim":
        rec["scan_impl"] = vscan.last_impl()
    return rec


def plan(args):
    """(batch, model, size, stride) in priority order."""
    models = [m for m in args.models.split(",") if m]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    s8 = [int(s) for s in args.stride8_sizes.split(",") if s]
    for batch in (int(b) for b in args.batches.split(",") if b):
        for name in models:
            geoms = [(s, 16) for s in sizes] + ([(s, 8) for s in s8] if name.startswith("vim") else [])
            for size, stride in sorted(geoms, key=lambda g: tokens_of(name, *g)):
                yield batch, name, size, stride


def main():
    global DEV
    args = parse_args()
    if args.cpu_smoke:
        DEV = "cpu"
    elif not torch.cuda.is_available():
        sys.exit("pytorch_bench: no CUDA device (--cpu-smoke tests the script on the CPU)")
    else:
        set_precision()
    try:
        import timm
        timm_version = timm.__version__
    except ImportError:
        timm_version = None
    info = dict(tool="pytorch_bench", date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                gpu=torch.cuda.get_device_name() if DEV == "cuda" else "cpu (smoke test)",
                torch=torch.__version__, cuda=torch.version.cuda,
                timm=timm_version, mamba_ssm=vscan.mamba_available(),
                settings=dict(vars(args), tf32=False, dtype="float32"))
    print(f"pytorch_bench: {info['gpu']}, torch {info['torch']}, timm {info['timm']}, "
          f"mamba_ssm {'yes' if info['mamba_ssm'] else 'no'}; budget {args.budget:.0f} s", flush=True)
    info["checks"] = gpu_checks(args)
    print("checks: " + json.dumps(info["checks"]), flush=True)

    results, models = [], {}
    slow = {}          # (batch, model, stride) -> (tokens, ms) of the last size run: predicts the next
    for batch, name, size, stride in plan(args):
        remaining = args.budget - elapsed()
        key = (batch, name, stride)
        tok = tokens_of(name, size, stride)
        pred = None
        if key in slow:  # GPU time: Vim linear in tokens, attention worse; host time: a floor
            t0k, gpu_ms, eager_ms = slow[key]
            pred = max(eager_ms, gpu_ms * (tok / t0k) ** (1 if name.startswith("vim") else 1.5))
        try:
            if (name, size, stride) not in models:  # kept for the other batches (~2 GB for all)
                models[(name, size, stride)] = build(name, size, stride, args)
            rec = run_case(models[(name, size, stride)], name, size, stride, batch, args, remaining, pred)
        except OOM as e:
            rec = dict(model=name, size=size, stride=stride, batch=batch, status="oom", reason=str(e)[:200])
        except Exception as e:
            rec = dict(model=name, size=size, stride=stride, batch=batch, status="error", reason=repr(e)[:300])
        if DEV == "cuda":
            torch.cuda.empty_cache()
        if rec.get("status") == "ok":
            slow[key] = (tok, rec["latency_ms"], rec["eager_ms"])
        elif "single_run_ms" in rec:
            slow[key] = (tok, rec["single_run_ms"], rec["single_run_ms"])
        results.append(rec)
        if rec.get("status") == "ok":
            g = f"{rec['graph_ms']:8.2f}" if "graph_ms" in rec else "       -"
            print(f"{name:8s} {size:5d} s{stride:<2d} b{batch:<3d} L={rec['tokens']:5d}  eager {rec['eager_ms']:8.2f} ms"
                  f"  graph {g} ms  {rec['images_per_s']:9.1f} img/s  peak {rec['peak_mib']:8.1f} MiB", flush=True)
        else:
            print(f"{name:8s} {size:5d} s{stride:<2d} b{batch:<3d} {rec['status']}: {rec.get('reason', '')}", flush=True)
    info["results"] = results
    info["elapsed_s"] = elapsed()
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(info, f, indent=1)
    print(f"pytorch_bench: {sum(r.get('status') == 'ok' for r in results)}/{len(results)} cases in {elapsed():.0f} s")


if __name__ == "__main__":
    main()
