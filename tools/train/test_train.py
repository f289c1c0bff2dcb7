"""CPU tests of the training tools, on data made up here (no Imagenette needed):

    python3 tools/train/test_train.py        (from the repo root; about a minute)

1. The Triton scan kernels, run through a stand-in for Triton (below), against the
   chunked scan: output and the five input gradients.
2. pack_data.py on a synthetic ImageFolder (32 px): counts, labels, the val images being
   the eval transform of the sources.
3. train.py end to end on that pack (depth 2): a call stopped after 3 steps, a resumed
   call that finishes, the outputs (the .pth loads as {'model': ...} with the official
   keys and shapes, the halves merge into it, the float16 copy is it rounded).
Prints what it checks; exits non-zero on a failure.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, ROOT)
failures: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    if detail and ok and len(detail) > 120:   # long details (process output) only matter on failure
        detail = ""
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)
    if not ok:
        failures.append(name)


# ---------------------------------------------------------------------------
# 1. A stand-in for triton / triton.language that runs @triton.jit functions as
#    Python: pointers are (flat storage view, element offsets) pairs.
# ---------------------------------------------------------------------------

class _Ptr:
    def __init__(self, base: torch.Tensor, off):
        self.base, self.off = base, torch.as_tensor(off, dtype=torch.int64)

    def __add__(self, k):
        return _Ptr(self.base, self.off + torch.as_tensor(k, dtype=torch.int64))

    __radd__ = __add__


def _fake_triton():
    tl = types.ModuleType("triton.language")
    tl.constexpr, tl.float32, tl.int64 = object, torch.float32, torch.int64
    ctx = {}

    tl.program_id = lambda axis: torch.tensor(ctx["pid"][axis], dtype=torch.int32)
    tl.arange = lambda a, b: torch.arange(a, b, dtype=torch.int32)
    tl.zeros = lambda shape, dtype: torch.zeros(shape, dtype=dtype)
    tl.exp = torch.exp
    tl.sum = lambda x, axis: x.sum(axis)
    tl.maximum = lambda a, b: torch.maximum(torch.as_tensor(a), torch.as_tensor(b))
    tl.minimum = lambda a, b: torch.minimum(torch.as_tensor(a), torch.as_tensor(b))
    tl.debug_barrier = lambda: None
    tl.load = lambda p: p.base[p.off]

    def store(p, v):
        p.base[p.off] = torch.as_tensor(v, dtype=p.base.dtype).expand(p.off.shape)
    tl.store = store

    def jit(fn):
        class Launcher:
            def __getitem__(self, grid):
                def run(*args, num_warps=4, **const):
                    flat = []
                    for x in args:
                        if isinstance(x, torch.Tensor):   # the whole storage, addressed from its start
                            n = x.storage().size()
                            flat.append(_Ptr(torch.as_strided(x, (n,), (1,), 0), x.storage_offset()))
                        else:
                            flat.append(x)
                    for i in range(grid[0]):
                        for j in range(grid[1] if len(grid) > 1 else 1):
                            ctx["pid"] = (i, j)
                            fn(*flat, **const)
                return run
        return Launcher()

    tr = types.ModuleType("triton")
    tr.jit, tr.language = jit, tl
    return tr, tl


def test_triton_kernels() -> None:
    print("Triton scan kernels (through the stand-in) vs the chunked scan, float64:")
    tr, tl = _fake_triton()
    saved = {k: sys.modules.get(k) for k in ("triton", "triton.language", "tools.train.triton_scan")}
    sys.modules["triton"], sys.modules["triton.language"] = tr, tl
    sys.modules.pop("tools.train.triton_scan", None)
    try:
        ts = importlib.import_module("tools.train.triton_scan")
        from tools.vim_torch.scan import _chunked
        for (b, G, Eg, N, L) in ((2, 2, 64, 4, 9), (1, 2, 96, 8, 5), (2, 1, 32, 4, 1)):
            g = torch.Generator().manual_seed(L)
            r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
            E = G * Eg
            inp = dict(u=r(b, E, L), delta=torch.nn.functional.softplus(r(b, E, L)), A=-torch.exp(r(E, N) * 0.5),
                       B=r(b, G, N, L), C=r(b, G, N, L))
            gy = r(b, E, L)
            res = {}
            for name in ("triton", "chunked"):
                leaves = {k: v.clone().requires_grad_(True) for k, v in inp.items()}
                if name == "triton":   # the Function computes in float32: feed it float32 views
                    y = ts._TritonScan.apply(*(leaves[k].float() for k in ("u", "delta", "A", "B", "C")))
                else:
                    y = _chunked(leaves["u"], leaves["delta"], leaves["A"], leaves["B"], leaves["C"], 0, 1 << 28)
                y.double().backward(gy)
                res[name] = [y.detach().double()] + [leaves[k].grad for k in ("u", "delta", "A", "B", "C")]
            worst = max(((a - c).abs().max() / c.abs().max().clamp_min(1e-30)).item()
                        for a, c in zip(res["triton"], res["chunked"]))
            check(f"b{b} G{G} Eg{Eg} N{N} L{L}: y and gradients of u, delta, A, B, C", worst < 1e-5,
                  f"worst relative difference {worst:.1e}")
        # the model path: install() routes scan_impl="triton" here; same logits and gradients
        from tools.vim_torch import model as vm
        orig = vm.selective_scan
        try:
            ts.install()
            torch.manual_seed(0)
            ref = vm.VisionMamba(img_size=48, depth=2, embed_dim=64, num_classes=10, scan_impl="chunked")
            tri = vm.VisionMamba(img_size=48, depth=2, embed_dim=64, num_classes=10, scan_impl="triton")
            tri.load_state_dict(ref.state_dict())
            x = torch.randn(2, 3, 48, 48)
            outs = []
            for m in (ref, tri):
                y = m(x)
                y.square().sum().backward()
                outs.append((y.detach(), [p.grad for p in m.parameters()]))
            dy = (outs[0][0] - outs[1][0]).abs().max().item()
            dg = max(((a - b).abs().max() / a.abs().max().clamp_min(1e-30)).item()
                     for a, b in zip(outs[0][1], outs[1][1]))
            check("VisionMamba with scan_impl='triton' after install(): logits and all parameter gradients",
                  dy < 1e-4 and dg < 1e-3, f"logits {dy:.1e}, worst relative gradient difference {dg:.1e}")
        finally:
            vm.selective_scan = orig
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


# ---------------------------------------------------------------------------
# 2. + 3. pack and train on synthetic photos
# ---------------------------------------------------------------------------

def make_folder(root: str, per_class=(6, 3), side=48) -> None:
    from tools.train.classes import WNIDS
    rng = np.random.default_rng(0)
    for split, n in zip(("train", "val"), per_class):
        for k, wnid in enumerate(WNIDS):
            os.makedirs(os.path.join(root, split, wnid))
            for i in range(n):
                base = np.array([(k * 25) % 256, (k * 70) % 256, (255 - k * 25) % 256], np.float64)
                img = np.clip(base + rng.normal(0, 40, (side, side + 8 * (i % 2), 3)), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(os.path.join(root, split, wnid, f"{wnid}_{i}.JPEG"), quality=90)


def run(args, **kw):
    return subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True, **kw)


def test_pack_and_train() -> None:
    from tools.train.pack_data import eval_transform_pil
    from tools.train.packed import load_index, load_split
    from tools.train import st_io
    from tools.vim_torch.model import VisionMamba
    tmp = tempfile.mkdtemp(prefix="vimtrain-")
    src, pack = os.path.join(tmp, "src"), os.path.join(tmp, "pack")
    make_folder(src)
    print("pack_data.py on a synthetic ImageFolder (10 classes, 6 + 3 images each, 32 px):")
    r = run(["tools/train/pack_data.py", "--src", src, "--out", pack, "--size", "32", "--jobs", "2"])
    check("pack_data.py exits 0", r.returncode == 0, r.stderr[-500:])
    idx = load_index(pack)
    check("counts", idx["splits"]["train"]["count"] == 60 and idx["splits"]["val"]["count"] == 30)
    xv, yv = load_split(pack, "val")
    check("val labels in class order", yv.tolist() == [k for k in range(10) for _ in range(3)])
    # the first val image is the eval transform of its source, up to WebP's loss
    first = os.path.join(src, "val", "n01440764", "n01440764_0.JPEG")
    ref = np.asarray(eval_transform_pil(Image.open(first).convert("RGB"), 32)).astype(np.float64)
    got = xv[0].permute(1, 2, 0).numpy().astype(np.float64)
    psnr = 10 * np.log10(255 ** 2 / max(1e-9, ((ref - got) ** 2).mean()))
    check("val image = eval transform of the source (WebP q60)", psnr > 25, f"PSNR {psnr:.1f} dB")

    print("train.py: a call stopped after 5 steps, then a resumed call to the end (depth 2, CPU):")
    o1, o2 = os.path.join(tmp, "o1"), os.path.join(tmp, "o2")
    common = ["tools/train/train.py", "--data", pack, "--smoke", "--limit-train", "0", "--limit-val", "0",
              "--batch-size", "16", "--epochs", "3", "--device", "cpu", "--ema-decay", "0.9"]
    r = run(common + ["--out", o1, "--stop-after-steps", "5"])
    check("first call exits 0", r.returncode == 0, (r.stdout + r.stderr)[-800:])
    log1 = json.load(open(os.path.join(o1, "train_log.json")))
    check("first call stopped at step 5, mid-epoch 2", log1["steps"] == 5 and log1["stop"] == "step limit"
          and log1["epochs_done"] == 1, f"steps {log1['steps']}, epochs {log1['epochs_done']}")
    r = run(common + ["--out", o2, "--resume", os.path.join(o1, "resume.pt")])
    check("resumed call exits 0", r.returncode == 0, (r.stdout + r.stderr)[-800:])
    log2 = json.load(open(os.path.join(o2, "train_log.json")))
    check("resumed call finished the 3 x 3 steps", log2["steps"] == 9 and log2["stop"] == "finished"
          and log2["epochs_done"] == 3 and len(log2["history"]) == 3, f"steps {log2['steps']}")
    check("two calls recorded", [c["call"] for c in log2["calls"]] == [0, 1])
    ck = torch.load(os.path.join(o2, "vim_ti_imagenette.pth"), map_location="cpu")
    sd = ck["model"]
    ref = VisionMamba(img_size=32, depth=2, num_classes=10).state_dict()
    check(".pth is {'model': state_dict}, official keys/order/shapes, float32",
          list(ck) == ["model"] and list(sd) == list(ref) and all(sd[k].shape == ref[k].shape for k in ref)
          and all(v.dtype == torch.float32 for v in sd.values()))
    m = VisionMamba.from_state_dict(sd)
    check("from_state_dict rebuilds it (32 px, 10 classes)", m.patch_embed.img_size == 32 and m.num_classes == 10)
    merged = os.path.join(tmp, "merged.pth")
    r = run(["tools/train/merge_parts.py", "--dir", o2, "--pth", merged, "--safetensors", os.path.join(tmp, "m.safetensors")])
    check("merge_parts.py exits 0", r.returncode == 0, (r.stdout + r.stderr)[-800:])
    sdm = torch.load(merged, map_location="cpu")["model"]
    check("merged halves = the .pth", list(sdm) == list(sd) and all(torch.equal(sdm[k], sd[k]) for k in sd))
    st, meta = st_io.load(os.path.join(tmp, "m.safetensors"))
    check("merged safetensors = the .pth, metadata kept", all(torch.equal(st[k], sd[k]) for k in sd)
          and json.loads(meta["classes"])[9]["imagenet_index"] == 701)
    with torch.no_grad():
        x = torch.randn(2, 3, 32, 32)
        a = m.eval()(x)
        m.load_state_dict({k: v.half().float() for k, v in sd.items()})
        b = m(x)
    check("float16 rounding changes the logits little", (a - b).abs().max().item() < 1e-2,
          f"max |diff| {(a - b).abs().max().item():.1e}")


def test_teacher_and_distill() -> None:
    from tools.train import st_io
    from tools.vim_torch.model import VisionMamba
    tmp = tempfile.mkdtemp(prefix="vimteach-")
    src, pack = os.path.join(tmp, "src"), os.path.join(tmp, "pack")
    make_folder(src)
    r = run(["tools/train/pack_data.py", "--src", src, "--out", pack, "--size", "32", "--jobs", "2"])
    check("pack for the teacher", r.returncode == 0, r.stderr[-500:])
    print("teacher.py (ResNet-18, 2 epochs, CPU), then train.py distilling from it:")
    tout, tfile = os.path.join(tmp, "t"), os.path.join(tmp, "t", "teacher.pt")
    r = run(["tools/train/teacher.py", "--data", pack, "--out", tout, "--arch", "resnet18", "--epochs", "2",
             "--batch-size", "16", "--device", "cpu", "--export-f16", tout])
    check("teacher.py exits 0", r.returncode == 0, (r.stdout + r.stderr)[-800:])
    tlog = json.load(open(os.path.join(tout, "teacher_log.json")))
    check("teacher: 2 epochs of 3 steps, val measured once after training",
          tlog["epochs_done"] == 2 and tlog["steps"] == 6 and tlog["val_f32"]["images"] == 30
          and len(tlog["val_f32"]["per_class_top1"]) == 10, f"{tlog['epochs_done']} epochs, {tlog['steps']} steps")
    r = run(["tools/train/teacher.py", "--data", pack, "--out", tout, "--eval-only", tfile, "--device", "cpu"])
    ev = json.load(open(os.path.join(tout, "teacher_eval.json")))
    check("teacher --eval-only gives the same val top-1", r.returncode == 0 and
          abs(ev["val_f32"]["top1"] - tlog["val_f32"]["top1"]) < 1e-9, (r.stdout + r.stderr)[-400:])
    r = run(["tools/train/teacher.py", "--data", pack, "--out", tmp, "--eval-only",
             os.path.join(tout, "teacher_f16.part1.pt"), "--device", "cpu"])
    ev16 = json.load(open(os.path.join(tmp, "teacher_eval.json"))) if r.returncode == 0 else {}
    from tools.train.teacher import read_teacher
    full, halves = read_teacher(tfile), read_teacher(os.path.join(tout, "teacher_f16.part1.pt"))
    same = list(full["state_dict"]) == list(halves["state_dict"]) and all(
        torch.allclose(full["state_dict"][k].float(), halves["state_dict"][k].float(), rtol=1e-3, atol=1e-4)
        for k in full["state_dict"])
    check("the float16 halves rebuild the teacher (same keys, order, values to f16 rounding) and measure",
          same and "val_f32" in ev16, (r.stdout + r.stderr)[-400:])
    # the student starts from a safetensors file with the official names and alignment pads, as the engine writes
    torch.manual_seed(1)
    init_sd = VisionMamba(img_size=32, depth=2, num_classes=10).state_dict()
    init_st = os.path.join(tmp, "init.safetensors")
    tensors = {"__pad__.0": torch.zeros(3, dtype=torch.uint8)}
    tensors.update((k, v.half() if v.ndim >= 2 else v) for k, v in init_sd.items())
    st_io.save(init_st, tensors, {"format": "vim-webgpu"})
    common = ["tools/train/train.py", "--data", pack, "--smoke", "--limit-train", "0", "--limit-val", "0",
              "--batch-size", "16", "--epochs", "3", "--device", "cpu", "--init", init_st, "--teacher", tfile]
    o1, o2, o3 = (os.path.join(tmp, f"d{i}") for i in (1, 2, 3))
    r = run(common + ["--out", o1, "--stop-after-steps", "4"])
    check("distillation call 1 exits 0", r.returncode == 0, (r.stdout + r.stderr)[-800:])
    check("log says initialised from the safetensors file and soft distillation",
          "initialised from" in r.stdout and "soft distillation" in r.stdout, r.stdout[-600:])
    r = run(common[:-2] + ["--out", o2, "--resume", os.path.join(o1, "resume.pt")])
    check("resuming a distillation run without --teacher is refused", r.returncode != 0
          and "--teacher" in (r.stdout + r.stderr), (r.stdout + r.stderr)[-400:])
    r = run(common + ["--out", o2, "--resume", os.path.join(o1, "resume.pt")])
    check("resumed distillation call exits 0", r.returncode == 0, (r.stdout + r.stderr)[-800:])
    log2 = json.load(open(os.path.join(o2, "train_log.json")))
    check("resumed distillation finished 9 steps, raw weights by the fixed rule, teacher recorded",
          log2["steps"] == 9 and log2["stop"] == "finished" and log2["weights"] == "raw"
          and log2["teacher"]["arch"] == "resnet18" and list(log2["final_val_f32"]) == ["raw"],
          f"steps {log2['steps']}, weights {log2['weights']}")
    check("no per-epoch val by default", all("val" not in h for h in log2["history"]))
    _, meta = st_io.load(os.path.join(o2, "vim_ti_imagenette_f16.safetensors"))
    check("weights' metadata: fixed-rule selection, the teacher", "no selection on val" in meta["selection"]
          and json.loads(meta["teacher"])["distill"] == "soft")
    r = run(common + ["--out", o3, "--distill", "hard", "--epochs", "1"])
    check("hard distillation exits 0", r.returncode == 0 and "hard distillation" in r.stdout, (r.stdout + r.stderr)[-800:])
    # a pack without val.bin (a GPU call that carries the train split alone) trains and skips val
    os.remove(os.path.join(pack, "val.bin"))
    r = run(common[:-2] + ["--out", o3, "--epochs", "1"])
    log3 = json.load(open(os.path.join(o3, "train_log.json"))) if r.returncode == 0 else {}
    check("no val.bin: trains, no val measurement", r.returncode == 0 and log3.get("final_val_f32") == {},
          (r.stdout + r.stderr)[-600:])
    # the distillation loss: soft at alpha 1 is the KL's cross-entropy form, hard mixes argmax and labels
    from tools.train.train import distill_loss, soft_ce
    z, zt = torch.randn(4, 10), torch.randn(4, 10)
    lab = torch.softmax(torch.randn(4, 10), -1)
    pt = torch.softmax(zt, -1)
    kl = (pt * (pt.log() - torch.log_softmax(z, -1))).sum(-1).mean()
    ent = -(pt * pt.log()).sum(-1).mean()
    check("soft loss = KL + teacher entropy", abs(distill_loss(z, zt, lab, "soft", 1.0, 1.0) - (kl + ent)) < 1e-5)
    h = distill_loss(z, zt, lab, "hard", 1.0, 1.0)
    ref = 0.5 * torch.nn.functional.cross_entropy(z, zt.argmax(-1)) + 0.5 * soft_ce(z, lab)
    check("hard loss = (CE(teacher argmax) + CE(labels)) / 2", abs(h - ref) < 1e-6)


if __name__ == "__main__":
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    test_triton_kernels()
    test_pack_and_train()
    test_teacher_and_distill()
    print(f"{len(failures)} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)
