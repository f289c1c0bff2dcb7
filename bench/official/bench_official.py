"""The official Vim code (hustvl/Vim + its vendored mamba_ssm 1.1.1) on our procedural weights.

    python3 bench/official/bench_official.py --json OUT.json [--budget 240] [--cases ...]
    python3 bench/official/bench_official.py --cpu-ref          # test the wiring on a CPU

What runs: `vim/models_mamba.py`'s VisionMamba built by the official factories
(`vim_{tiny,small}_patch16[_stride8]_224_bimambav2_final_pool_mean_abs_pos_embed_with_midclstok_div2`,
with `img_size=R`), i.e. the fused bimamba-v2 path: `mamba_inner_fn_no_out_proj` ->
`causal_conv1d_cuda.causal_conv1d_fwd` + `selective_scan_cuda.fwd`, RMSNorm by the official
Triton kernel (`mamba_ssm/ops/triton/layer_norm.py`, fused add+norm). The two CUDA extensions
are the official sources built fp32-forward-only by bench/official/build.py. The model code
is imported unchanged from .official/ (bench/official/fetch.sh); only what the model never
calls is stubbed: mamba_ssm/__init__.py (it imports the LM head model) and
mamba_ssm.utils.{generation,hf} (they need `transformers`), and timm where it is absent.

Kernel choices (recorded in the JSON under `setup`):
  --conv auto|cuda|shim   causal conv: the official causal_conv1d CUDA forward if it built
                          (auto), else F.conv1d + SiLU (`shim`, what ANCHORS-H200.md measured)
  --norm triton|ref       RMSNorm: official Triton kernel, or its pure-PyTorch rms_norm_ref
  --scan cuda|ref         selective scan: official CUDA forward, or its selective_scan_ref
--cpu-ref selects ref/shim/ref on the CPU: the wiring and weight mapping are tested without a GPU.

Weights: tools/vim_torch/procedural.py (vim-proc-v1, the WebGPU bench's seeds), loaded by name
with strict=True. Checks before timing: official logits against the fixtures that the official
code produced on a CPU (test/fixtures/vim: tiny batch 2, vim_ti_224, vim_ti_s8_224, vim_s_224;
the engine's own tests check it against the same files) and against tools/vim_torch on every
benchmarked geometry (batch 1, random input). A case whose check exceeds --tol (1e-3) is
still timed but flagged (`check_ok: false`).

Timing as bench/pytorch_bench.py and ANCHORS-H200.md: float32, TF32 off, eval, no_grad,
3 warm-ups, median of --runs (20) CUDA-event-timed forwards eagerly, and for batch <= 8 also
as a replayed CUDA graph (`graph_ms`: GPU time without the host's launches). `latency_ms` is
the graph time where there is one, else eager. peak_bytes = max_memory_allocated during the
case above what was allocated before + the model's weights (as pytorch_bench); the raw
max_memory_allocated is kept too. The JSON is rewritten after every case.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import json
import math
import os
import statistics
import sys
import time
import traceback
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))
import torch_common  # noqa: E402
from tools.vim_torch.model import VisionMamba as OurVim, vim_config  # noqa: E402
from tools.vim_torch.procedural import SEEDS, procedural_state_dict, canonical_shapes  # noqa: E402

T0 = time.monotonic()
CPU = False  # set by --cpu-ref
FIX = os.path.join(ROOT, "test", "fixtures", "vim")
FACTORY = {  # (model, stride) -> official factory
    ("vim_ti", 16): "vim_tiny_patch16_224_bimambav2_final_pool_mean_abs_pos_embed_with_midclstok_div2",
    ("vim_ti", 8): "vim_tiny_patch16_stride8_224_bimambav2_final_pool_mean_abs_pos_embed_with_midclstok_div2",
    ("vim_s", 16): "vim_small_patch16_224_bimambav2_final_pool_mean_abs_pos_embed_with_midclstok_div2",
    ("vim_s", 8): "vim_small_patch16_stride8_224_bimambav2_final_pool_mean_abs_pos_embed_with_midclstok_div2",
}
# The keyword arguments those factories pass (for the 2-layer `tiny` fixture, built directly).
FACTORY_FLAGS = dict(patch_size=16, rms_norm=True, residual_in_fp32=True, fused_add_norm=True,
                     final_pool_type="mean", if_abs_pos_embed=True, if_rope=False, if_rope_residual=False,
                     bimamba_type="v2", if_cls_token=True, if_divide_out=True, use_middle_cls_token=True)
# (model, size, stride, batch) in priority order: what the issue asks, cheapest first per size.
DEFAULT_CASES = ("vim_ti:224:16:1,vim_ti:224:16:64,vim_ti:224:8:1,vim_ti:224:8:64,"
                 "vim_ti:512:16:1,vim_ti:512:16:64,vim_ti:1024:16:1,vim_ti:1024:16:64,"
                 "vim_ti:1248:16:1,vim_ti:1248:16:64,vim_s:224:16:1,vim_s:224:16:64,"
                 "vim_s:1024:16:1,vim_s:1024:16:64")


def elapsed() -> float:
    return time.monotonic() - T0


# -- importing the official code --------------------------------------------

def _module(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def _scan_ref_shim() -> types.ModuleType:
    """selective_scan_cuda.fwd on top of the official selective_scan_ref (same file)."""
    def fwd(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
        from mamba_ssm.ops.selective_scan_interface import selective_scan_ref
        out = selective_scan_ref(u, delta, A, B, C, D, None, delta_bias, delta_softplus)
        rest = [out * F.silu(z.float()).to(out.dtype)] if z is not None else []
        return [out, u.new_zeros(0)] + rest  # the 2nd (scan states) only feeds the backward
    return _module("selective_scan_cuda", fwd=fwd, __file__="<bench_official ref shim>")


def _conv_fwd_shim(x, weight, bias=None, seq_idx=None, initial_states=None, final_states_out=None,
                   silu_activation=False):
    """causal_conv1d_cuda.causal_conv1d_fwd as F.conv1d (+ SiLU): what ANCHORS-H200.md measured."""
    w = weight.shape[-1]
    y = F.conv1d(x, weight.unsqueeze(1), bias, padding=w - 1, groups=x.shape[1])[..., :x.shape[-1]]
    return F.silu(y) if silu_activation else y


def _conv_fn_shim(x, weight, bias=None, seq_idx=None, initial_states=None, return_final_states=False,
                  final_states_out=None, activation=None):
    return _conv_fwd_shim(x, weight, bias, silu_activation=activation in ("silu", "swish"))


def _norm_ref_module(layer_norm_py: str) -> types.ModuleType:
    """mamba_ssm.ops.triton.layer_norm without Triton: its own rms_norm_ref / layer_norm_ref and
    RMSNorm class, taken from the official file's source, behind the fused functions' signatures."""
    tree = ast.parse(open(layer_norm_py).read())
    keep = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
            and n.name in ("layer_norm_ref", "rms_norm_ref", "RMSNorm")]
    ns = dict(torch=torch, F=F, math=math)

    def rms_norm_fn(x, weight, bias, residual=None, x1=None, weight1=None, bias1=None, eps=1e-6,
                    dropout_p=0.0, rowscale=None, prenorm=False, residual_in_fp32=False, return_dropout_mask=False):
        out = ns["rms_norm_ref"](x, weight, bias, residual=residual, eps=eps, prenorm=prenorm)
        if prenorm and residual_in_fp32:
            out = (out[0], out[1].float())
        return out

    def layer_norm_fn(x, weight, bias, residual=None, x1=None, weight1=None, bias1=None, eps=1e-6,
                      dropout_p=0.0, rowscale=None, prenorm=False, residual_in_fp32=False, is_rms_norm=False,
                      return_dropout_mask=False):
        f = ns["rms_norm_ref"] if is_rms_norm else ns["layer_norm_ref"]
        out = f(x, weight, bias, residual=residual, eps=eps, prenorm=prenorm)
        if prenorm and residual_in_fp32:
            out = (out[0], out[1].float())
        return out

    ns.update(rms_norm_fn=rms_norm_fn, layer_norm_fn=layer_norm_fn)
    exec(compile(ast.Module(body=keep, type_ignores=[]), layer_norm_py, "exec"), ns)  # noqa: S102
    return _module("mamba_ssm.ops.triton.layer_norm", RMSNorm=ns["RMSNorm"], rms_norm_fn=rms_norm_fn,
                   layer_norm_fn=layer_norm_fn, rms_norm_ref=ns["rms_norm_ref"], __file__="<official refs, no Triton>")


def _timm_stub() -> None:
    """The five timm names models_mamba.py imports, for a machine without timm (eval only)."""
    class DropPath(nn.Module):
        def __init__(self, drop_prob=0.0):
            super().__init__()
            self.drop_prob = drop_prob

        def forward(self, x):
            if self.drop_prob == 0.0 or not self.training:
                return x
            keep = 1 - self.drop_prob
            return x * x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep) / keep

    def lecun_normal_(t):
        fan_in = t[0].numel()
        return nn.init.trunc_normal_(t, std=math.sqrt(1.0 / fan_in) / .87962566103423978)

    to_2tuple = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)  # noqa: E731
    _module("timm", __path__=[], __version__="stub")
    _module("timm.models", __path__=[])
    _module("timm.models.vision_transformer", VisionTransformer=nn.Module, _cfg=lambda **kw: dict(kw),
            _load_weights=None)
    _module("timm.models.registry", register_model=lambda f: f)
    _module("timm.models.layers", trunc_normal_=nn.init.trunc_normal_, lecun_normal_=lecun_normal_,
            DropPath=DropPath, to_2tuple=to_2tuple)


def import_official(src: str, build: str, scan: str, conv: str, norm: str) -> tuple[types.ModuleType, dict]:
    info = dict(src=src, build=build)
    mamba_dir = os.path.join(src, "mamba-1p1p1")
    if not os.path.isfile(os.path.join(src, "vim", "models_mamba.py")):
        raise FileNotFoundError(f"{src}/vim/models_mamba.py missing: run bench/official/fetch.sh here and carry .official")
    sources = os.path.join(os.path.dirname(src), "SOURCES")
    if os.path.exists(sources):
        info["sources"] = open(sources).read().strip().splitlines()
    if not hasattr(torch.cuda.amp, "custom_fwd"):  # removed in newer torch: the same decorators
        import functools
        torch.cuda.amp.custom_fwd = functools.partial(torch.amp.custom_fwd, device_type="cuda")
        torch.cuda.amp.custom_bwd = functools.partial(torch.amp.custom_bwd, device_type="cuda")
        info["compat"] = "torch.cuda.amp.custom_fwd -> torch.amp.custom_fwd(device_type='cuda')"
    # mamba_ssm as a namespace over the vendored copy, without running its __init__.py.
    _module("mamba_ssm", __path__=[os.path.join(mamba_dir, "mamba_ssm")], __version__="1.1.1")
    _module("mamba_ssm.utils", __path__=[os.path.join(mamba_dir, "mamba_ssm", "utils")])
    _module("mamba_ssm.utils.generation", GenerationMixin=object)
    _module("mamba_ssm.utils.hf", load_config_hf=None, load_state_dict_hf=None)
    for d in (os.path.join(build, "selective_scan_cuda"), os.path.join(build, "causal_conv1d_cuda")):
        if os.path.isdir(d):
            sys.path.insert(0, d)
    # selective scan
    if scan == "cuda":
        m = importlib.import_module("selective_scan_cuda")
        info["scan"] = f"official CUDA fwd ({os.path.basename(m.__file__)})"
    else:
        _scan_ref_shim()
        info["scan"] = "official selective_scan_ref (pure PyTorch)"
    # causal conv1d
    if conv in ("auto", "cuda"):
        try:
            importlib.import_module("causal_conv1d_cuda")
            sys.path.insert(0, os.path.join(src, "causal-conv1d"))
            importlib.import_module("causal_conv1d")
            info["conv"] = "official causal_conv1d CUDA fwd"
        except ImportError as e:
            if conv == "cuda":
                raise
            info["conv_fallback_reason"] = repr(e)[:200]
            conv = "shim"
    if conv == "shim":
        _module("causal_conv1d_cuda", causal_conv1d_fwd=_conv_fwd_shim)
        _module("causal_conv1d", causal_conv1d_fn=_conv_fn_shim, causal_conv1d_update=None)
        info["conv"] = "F.conv1d + SiLU (shim of causal_conv1d_cuda.causal_conv1d_fwd)"
    # RMSNorm
    ln_py = os.path.join(mamba_dir, "mamba_ssm", "ops", "triton", "layer_norm.py")
    if norm == "triton":
        try:
            importlib.import_module("mamba_ssm.ops.triton.layer_norm")
            import triton
            info["norm"] = f"official Triton kernel (triton {triton.__version__})"
        except Exception as e:  # noqa: BLE001
            info["norm_fallback_reason"] = repr(e)[:300]
            sys.modules.pop("mamba_ssm.ops.triton.layer_norm", None)
            norm = "ref"
    if norm == "ref":
        _norm_ref_module(ln_py)
        info["norm"] = "official rms_norm_ref (pure PyTorch)"
    try:  # exactly what models_mamba.py imports from timm
        import timm
        from timm.models.vision_transformer import VisionTransformer, _cfg, _load_weights  # noqa: F401
        from timm.models.registry import register_model  # noqa: F401
        from timm.models.layers import trunc_normal_, lecun_normal_, DropPath, to_2tuple  # noqa: F401
        info["timm"] = timm.__version__
    except ImportError as e:
        for k in [k for k in sys.modules if k == "timm" or k.startswith("timm.")]:
            del sys.modules[k]
        _timm_stub()
        info["timm"] = f"stub of the names models_mamba.py imports ({e!r})"[:200]
    sys.path.insert(0, os.path.join(src, "vim"))  # models_mamba.py does `from rope import *`
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mm = importlib.import_module("models_mamba")
    ssi = sys.modules["mamba_ssm.ops.selective_scan_interface"]
    assert ssi.selective_scan_cuda is sys.modules["selective_scan_cuda"]
    assert ssi.causal_conv1d_cuda is sys.modules["causal_conv1d_cuda"], "fused path would have no conv"
    return mm, info


# -- models ------------------------------------------------------------------

_on = torch_common.on_device


def official_model(mm, name: str, size: int, stride: int, device: str):
    D = vim_config(name)["embed_dim"]
    with _on(device):
        m = getattr(mm, FACTORY[(name, stride)])(img_size=size, num_classes=1000)
    m = m.to(device).eval()
    pos_rows = m.pos_embed.shape[1]
    sd = procedural_state_dict(SEEDS[name], D, pos_rows, device=device)
    res = m.load_state_dict(sd, strict=True)
    m.weight_info = dict(loaded=len(sd), missing=list(res.missing_keys), unexpected=list(res.unexpected_keys),
                         official_order_is_canonical=list(m.state_dict().keys()) == [k for k, _ in canonical_shapes(24, D, pos_rows)])
    m.param_bytes = sum(t.numel() * t.element_size() for t in list(m.parameters()) + list(m.buffers()))
    return m


def our_model(name: str, size: int, stride: int, device: str):
    with _on(device):
        m = OurVim(img_size=size, stride=stride, **vim_config(name))
    m.load_state_dict(procedural_state_dict(SEEDS[name], m.embed_dim, m.pos_embed.shape[1], device=device))
    return m.to(device).eval()


def _err(a: torch.Tensor, b: torch.Tensor) -> dict:
    d = (a.double() - b.double()).abs()
    return dict(max_abs=float(d.max()), rel=float(d.max() / b.double().abs().max().clamp_min(1e-30)))


def fixture_checks(mm, device: str, tol: float, full: bool) -> dict:
    out = {}
    # tiny: 2 layers, width 32, batch 2, the official state dict as shipped.
    try:
        sd = torch.load(os.path.join(FIX, "tiny.pth"), map_location="cpu", weights_only=False)["model"]
        with _on(device):
            m = mm.VisionMamba(img_size=64, stride=16, depth=2, embed_dim=32, d_state=4, num_classes=10,
                               **FACTORY_FLAGS)
        m.load_state_dict(sd, strict=True)
        m = m.to(device).eval()
        x = torch.from_numpy(np.fromfile(os.path.join(FIX, "tiny_batch2_input.bin"), dtype="<f4").reshape(2, 3, 64, 64))
        ref = torch.from_numpy(np.fromfile(os.path.join(FIX, "tiny_batch2_logits.bin"), dtype="<f4").reshape(2, 10))
        with torch.no_grad():
            out["tiny_batch2"] = _err(m(x.to(device)).cpu(), ref)
    except Exception as e:  # noqa: BLE001
        out["tiny_batch2"] = dict(error=repr(e)[:300])
    cases = [("vim_ti_224", "vim_ti", 16)] + ([("vim_ti_s8_224", "vim_ti", 8), ("vim_s_224", "vim_s", 16)] if full else [])
    x = torch.from_numpy(np.fromfile(os.path.join(FIX, "vim_input_224.bin"), dtype="<f4").reshape(1, 3, 224, 224))
    for case, name, stride in cases:
        try:
            m = official_model(mm, name, 224, stride, device)
            ref = torch.from_numpy(np.fromfile(os.path.join(FIX, f"{case}_logits.bin"), dtype="<f4").reshape(1, 1000))
            with torch.no_grad():
                out[case] = _err(m(x.to(device)).cpu(), ref)
            out[case]["weights"] = m.weight_info
            del m
        except Exception as e:  # noqa: BLE001
            out[case] = dict(error=repr(e)[:300])
    for v in out.values():
        if "max_abs" in v:
            v["ok"] = v["max_abs"] <= tol
    return out


def compare_with_ours(official, name, size, stride, device) -> dict:
    """Official vs tools/vim_torch (tested against the same fixtures as the engine), batch 1."""
    ours = our_model(name, size, stride, device)
    g = torch.Generator(device="cpu").manual_seed(size * 100 + stride)
    x = torch.randn(1, 3, size, size, generator=g).to(device)
    with torch.no_grad():
        e = _err(official(x), ours(x))
    del ours
    return e


# -- timing ------------------------------------------------------------------

def time_runs(fn, n: int) -> list[float]:
    return torch_common.time_runs(fn, n, cpu=CPU)


capture_graph = torch_common.capture_graph


def run_case(model, rec: dict, args, limit: float, predicted_ms: float | None) -> dict:
    batch, size = rec["batch"], rec["size"]
    n, w = args.runs, args.warmup
    want_graph = batch <= args.graph_max_batch
    reps = (w + n) * (2 if want_graph else 1)
    if predicted_ms is not None and reps * predicted_ms / 1e3 > limit:
        return dict(rec, status="skipped", reason=f"predicted {reps * predicted_ms / 1e3:.0f} s > {limit:.0f} s left",
                    predicted_ms=predicted_ms)
    cuda = not CPU
    want_graph = want_graph and cuda
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() if cuda else 0
    g = torch.Generator(device="cpu").manual_seed(1)
    x = torch.randn(batch, 3, size, size, generator=g).to("cuda" if cuda else "cpu")
    with torch.no_grad():
        first = time_runs(lambda: model(x), 1)[0]          # includes Triton autotuning
        second = time_runs(lambda: model(x), 1)[0]
        if reps * second / 1e3 > limit:
            return dict(rec, status="skipped", reason=f"predicted {reps * second / 1e3:.0f} s > {limit:.0f} s left",
                        single_run_ms=second, first_run_ms=first)
        time_runs(lambda: model(x), max(0, w - 2))
        eager = time_runs(lambda: model(x), n)
        peak_raw = torch.cuda.max_memory_allocated() if cuda else 0
        peak = peak_raw - base + model.param_bytes
        rec.update(status="ok", runs=n, warmup=w, first_run_ms=first, eager_ms=statistics.median(eager),
                   eager_min_ms=min(eager), peak_bytes=peak, peak_mib=peak / 2**20,
                   max_memory_allocated=peak_raw, weight_bytes=model.param_bytes)
        if want_graph:
            try:
                graph = capture_graph(model, x)
                time_runs(graph.replay, w)
                gr = time_runs(graph.replay, n)
                rec.update(graph_ms=statistics.median(gr), graph_min_ms=min(gr))
                del graph
            except Exception as e:  # noqa: BLE001 - eager numbers stand
                rec["graph_error"] = repr(e)[:300]
    rec["latency_ms"] = rec.get("graph_ms", rec["eager_ms"])
    rec["images_per_s"] = batch / (min(rec["eager_ms"], rec["latency_ms"]) / 1e3)
    return rec


def parse_cases(s: str):
    out = []
    for item in s.split(","):
        if item.strip():
            name, size, stride, batch = item.strip().split(":")
            out.append((name, int(size), int(stride), int(batch)))
    return out


def tokens_of(size: int, stride: int) -> int:
    g = (size - 16) // stride + 1
    return g * g + 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", help="results file (rewritten after each case)")
    p.add_argument("--official", default=os.path.join(ROOT, ".official", "vim-repo"))
    p.add_argument("--build", default=os.environ.get("OFFICIAL_BUILD", "/tmp/vim-official-build"))
    p.add_argument("--cases", default=DEFAULT_CASES, help="model:size:stride:batch,... in priority order")
    p.add_argument("--scan", default="cuda", choices=["cuda", "ref"])
    p.add_argument("--conv", default="auto", choices=["auto", "cuda", "shim"])
    p.add_argument("--norm", default="triton", choices=["triton", "ref"])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--graph-max-batch", type=int, default=8)
    p.add_argument("--budget", type=float, default=240.0, help="seconds for the whole script")
    p.add_argument("--case-cap", type=float, default=30.0, help="skip a case predicted to take longer (s)")
    p.add_argument("--tol", type=float, default=1e-3, help="max |logit difference| accepted")
    p.add_argument("--no-compare", action="store_true", help="skip the per-geometry check against tools/vim_torch")
    p.add_argument("--cpu-ref", action="store_true", help="CPU, pure-PyTorch kernels: checks only, no timing")
    args = p.parse_args()
    device = "cpu" if args.cpu_ref else "cuda"
    if args.cpu_ref:
        global CPU
        CPU = True
        args.scan, args.conv, args.norm = "ref", "shim", "ref"
        if args.cases == DEFAULT_CASES:
            args.cases, args.runs, args.warmup = "vim_ti:64:16:1,vim_ti:64:16:2,vim_s:32:16:1", 2, 1
    info = dict(tool="bench_official", date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                torch=torch.__version__, cuda=torch.version.cuda,
                settings=dict(vars(args), tf32=False, dtype="float32"), results=[])

    def save():
        info["elapsed_s"] = elapsed()
        if args.json:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            with open(args.json + ".tmp", "w") as f:
                json.dump(info, f, indent=1)
            os.replace(args.json + ".tmp", args.json)

    try:
        if device == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError("no CUDA device")
            info["gpu"] = torch.cuda.get_device_name()
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            torch.set_float32_matmul_precision("highest")
            torch.backends.cudnn.benchmark = True
        mm, info["setup"] = import_official(args.official, args.build, args.scan, args.conv, args.norm)
    except Exception as e:  # noqa: BLE001
        info["error"] = f"setup failed: {e!r}"[:1000]
        info["traceback"] = traceback.format_exc()[-3000:]
        print(f"official: SETUP FAILED: {e!r}", flush=True)
        save()
        return 1
    s = info["setup"]
    print(f"official: {info.get('gpu', 'cpu')}, torch {torch.__version__}; scan: {s['scan']}; conv: {s['conv']}; "
          f"norm: {s['norm']}; timm {s['timm']}", flush=True)
    info["checks"] = fixture_checks(mm, device, args.tol, full=True)
    for k, v in info["checks"].items():
        print(f"check {k}: " + (f"max |diff| {v['max_abs']:.2e} (rel {v['rel']:.1e}) {'ok' if v['ok'] else 'FAIL'}"
                                if "max_abs" in v else f"error {v.get('error')}"), flush=True)
    save()

    models, slow, compared = {}, {}, {}
    for name, size, stride, batch in parse_cases(args.cases):
        key = (name, size, stride)
        rec = dict(model=name, size=size, stride=stride, batch=batch, tokens=tokens_of(size, stride))
        remaining = args.budget - elapsed()
        pred = None
        if (name, stride, batch) in slow:  # linear in tokens from the last size run
            t0k, ms = slow[(name, stride, batch)]
            pred = ms * rec["tokens"] / t0k
        try:
            if remaining < 5:
                raise TimeoutError(f"budget spent ({elapsed():.0f} s)")
            if key not in models:
                models.clear()
                if not CPU:
                    torch.cuda.empty_cache()
                models[key] = official_model(mm, name, size, stride, device)
            m = models[key]
            if not args.no_compare and key not in compared:
                compared[key] = compare_with_ours(m, name, size, stride, device)
            if key in compared:
                c = compared[key]
                rec.update(vs_vim_torch_max_abs=c["max_abs"], vs_vim_torch_rel=c["rel"], check_ok=c["max_abs"] <= args.tol)
            rec = run_case(m, rec, args, min(args.case_cap, remaining), pred)
        except getattr(torch.cuda, "OutOfMemoryError", MemoryError) as e:
            rec.update(status="oom", reason=str(e)[:200])
        except TimeoutError as e:
            rec.update(status="skipped", reason=str(e))
        except Exception as e:  # noqa: BLE001
            rec.update(status="error", reason=repr(e)[:300], traceback=traceback.format_exc()[-1500:])
        if rec.get("status") == "ok":
            slow[(name, stride, batch)] = (rec["tokens"], rec["eager_ms"])
        elif "single_run_ms" in rec:
            slow[(name, stride, batch)] = (rec["tokens"], rec["single_run_ms"])
        info["results"].append(rec)
        save()
        tag = f"{name:6s} {size:5d} s{stride:<2d} b{batch:<3d} L={rec['tokens']:5d}"
        chk = f"  vs vim_torch {rec['vs_vim_torch_max_abs']:.1e}" if "vs_vim_torch_max_abs" in rec else ""
        if rec.get("status") == "ok":
            gtxt = f"{rec['graph_ms']:8.3f}" if "graph_ms" in rec else "       -"
            print(f"official {tag}  eager {rec['eager_ms']:8.3f} ms  graph {gtxt} ms  {rec['images_per_s']:8.1f} img/s"
                  f"  peak {rec['peak_mib']:7.1f} MiB{chk}", flush=True)
        else:
            print(f"official {tag}  {rec['status']}: {rec.get('reason', '')}{chk}", flush=True)
    n_ok = sum(r.get("status") == "ok" for r in info["results"])
    bad = [k for k, v in info["checks"].items() if not v.get("ok")] + \
          [f"{r['model']}:{r['size']}:{r['stride']}" for r in info["results"] if r.get("check_ok") is False]
    info["checks_ok"] = not bad
    save()
    print(f"official: {n_ok}/{len(info['results'])} cases in {elapsed():.0f} s; checks "
          + ("ok" if not bad else f"FAILED: {sorted(set(bad))}"), flush=True)
    return 0 if n_ok and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
