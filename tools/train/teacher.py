"""Trains the ConvNet teacher for distilling the bundled Vim-Ti (train.py --teacher):
a torchvision ResNet (ResNet-50 by default), random init, on the TRAIN split of a
pack (pack_data.py) only, everything on one GPU with the augmentation of gpu_aug.py.

    python3 tools/train/teacher.py --data .data --out $OUT --save /tmp/teacher.pt --time-budget 150

The val split is used exactly once, after training, to report the teacher's top-1
(f32, TF32 off); nothing is chosen from it (no early stopping, no checkpoint pick:
the final weights are the teacher). A pack without val.bin (a call that could not
carry it) is fine: the measurement is then skipped and can be made later with
`--eval-only TEACHER.pt`.

Recipe (defaults): SGD momentum 0.9 Nesterov, lr 0.25 at batch 256 (linear warm-up 2
epochs, cosine to 0), weight decay 1e-4 (none on BN and biases), label smoothing
0.1, mixup 0.2 / cutmix 1.0 on half the batches, random resized crop (area 0.25-1)
+ flip + colour jitter 0.3, bf16 autocast, channels_last, BN's last gamma of each
residual block zero-initialised. With --epochs 0 and a time budget the number of
epochs is fixed after the first one, from its speed, so the cosine ends in time.

Outputs: --save (the teacher: {'format', 'arch', 'num_classes', 'state_dict' f32,
'meta'}), and in --out teacher_log.json (per epoch loss / img/s, the final val
measurement, timings).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import sys
import time

T_START = time.time()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

if __package__ in (None, ""):  # run as a script: make `tools.*` importable
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from tools.train.classes import classes_json  # noqa: E402
from tools.train.gpu_aug import GpuAugment, MixCut, to_input  # noqa: E402
from tools.train.packed import has_split, load_index, load_split  # noqa: E402

TEACHER_FORMAT = "vim-webgpu-teacher-v1"
ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101")


def log(msg: str) -> None:
    print(f"[{time.time() - T_START:7.1f}s] teacher: {msg}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--data", default=".data")
    a("--out", default=os.environ.get("OUT") or "teacher_out")
    a("--save", default="", help="where to write the teacher (default: OUT/teacher.pt)")
    a("--arch", choices=ARCHS, default="resnet50")
    a("--time-budget", type=float, default=0, help="seconds from start until everything is written (0: none)")
    a("--reserve", type=float, default=12, help="seconds kept for the val measurement and the save")
    a("--epochs", type=int, default=-1, help="0 = fit into --time-budget (default with a budget)")
    a("--batch-size", type=int, default=256)
    a("--lr", type=float, default=0.25)
    a("--warmup-epochs", type=float, default=2)
    a("--weight-decay", type=float, default=1e-4)
    a("--smoothing", type=float, default=0.1)
    a("--mixup", type=float, default=0.2)
    a("--cutmix", type=float, default=1.0)
    a("--mix-prob", type=float, default=0.5)
    a("--crop-scale", type=float, default=0.25)
    a("--jitter", type=float, default=0.3)
    a("--erase", type=float, default=0.0)
    a("--seed", type=int, default=0)
    a("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a("--limit-train", type=int, default=0, help="evenly spread subset (tests)")
    a("--limit-val", type=int, default=0)
    a("--eval-only", default="", help="measure a saved teacher (a --save file or a .part1.pt) on val and exit")
    a("--export-f16", default="", help="also write the teacher as float16 in two halves (teacher_f16.part1/2.pt, "
      "each < 16 MiB for a ResNet-18/34) into this folder, to bring it back from a GPU call")
    args = p.parse_args(argv)
    if args.epochs < 0:
        args.epochs = 0 if args.time_budget > 0 else 30
    if args.epochs == 0 and args.time_budget <= 0:
        p.error("--epochs 0 needs --time-budget")
    return args


def build(arch: str, num_classes: int = 10) -> torch.nn.Module:
    import torchvision
    return getattr(torchvision.models, arch)(num_classes=num_classes, zero_init_residual=True)


def read_teacher(path: str) -> dict:
    """A --save file, or the two halves of --export-f16 (give the .part1.pt; the .part2.pt
    is read beside it), as {'arch', 'num_classes', 'state_dict' (float32), 'meta', ...}."""
    if path.endswith(".part1.pt"):
        p1 = torch.load(path, map_location="cpu", weights_only=False)  # our own files
        p2 = torch.load(path[:-len(".part1.pt")] + ".part2.pt", map_location="cpu", weights_only=False)
        if p1.get("format") != TEACHER_FORMAT + "-f16-part" or p2.get("format") != p1["format"]:
            raise SystemExit(f"{path}: not a half written by teacher.py --export-f16")
        sd = {**p1["state_dict"], **p2["state_dict"]}
        ck = dict(p1, state_dict={k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()})
        ck["order"] = p1["order"]
        ck["state_dict"] = {k: ck["state_dict"][k] for k in ck["order"]}
        return ck
    ck = torch.load(path, map_location="cpu", weights_only=False)  # our own file
    if ck.get("format") != TEACHER_FORMAT:
        raise SystemExit(f"{path}: not a teacher written by teacher.py")
    return ck


def export_f16(ck: dict, folder: str) -> list[str]:
    """The teacher in float16 (integers as they are), split by key into two files of about equal size."""
    sd = ck["state_dict"]
    order = list(sd)
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    total = sum(v.numel() * v.element_size() for v in half.values())
    first, acc = [], 0
    for k in order:
        if acc >= total / 2:
            break
        first.append(k)
        acc += half[k].numel() * half[k].element_size()
    paths = []
    for part, keys in ((1, first), (2, [k for k in order if k not in set(first)])):
        path = os.path.join(folder, f"teacher_f16.part{part}.pt")
        torch.save({"format": TEACHER_FORMAT + "-f16-part", "part": part, "arch": ck["arch"],
                    "num_classes": ck["num_classes"], "order": order, "meta": ck["meta"],
                    "state_dict": {k: half[k] for k in keys}}, path)
        paths.append(path)
    return paths


def load_teacher(path: str, device) -> tuple[torch.nn.Module, dict]:
    """The teacher of a --save file (or of --export-f16's halves), in eval mode, channels_last, on the device."""
    ck = read_teacher(path)
    model = build(ck["arch"], ck["num_classes"])
    model.load_state_dict(ck["state_dict"])
    model = model.to(device).to(memory_format=torch.channels_last).eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    return model, ck


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blob in iter(lambda: f.read(1 << 20), b""):
            h.update(blob)
    return h.hexdigest()


def param_groups(model, wd):
    decay, no_decay = [], []
    for _, prm in model.named_parameters():
        (no_decay if prm.ndim <= 1 else decay).append(prm)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step, base, warmup, total):
    if step < warmup:
        return base * (step + 1) / warmup
    if total is None:
        return base
    prog = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * base * (1 + math.cos(math.pi * prog))


@torch.no_grad()
def measure(model, x_u8, y, device, batch=500):
    """Top-1 / top-5 / per-class top-1 in float32 (TF32 off), on eval-transformed uint8 images."""
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        model.eval()
        c1 = c5 = 0
        per = torch.zeros(10, 2, dtype=torch.long)
        for i in range(0, x_u8.shape[0], batch):
            xb, yb = to_input(x_u8[i:i + batch]).contiguous(memory_format=torch.channels_last), y[i:i + batch]
            top5 = model(xb).float().topk(5, 1).indices
            hit = top5[:, 0] == yb
            c1 += int(hit.sum())
            c5 += int((top5 == yb[:, None]).any(1).sum())
            per[:, 0] += torch.bincount(yb[hit].cpu(), minlength=10)
            per[:, 1] += torch.bincount(yb.cpu(), minlength=10)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    n = x_u8.shape[0]
    return {"top1": c1 / n, "top5": c5 / n, "images": n,
            "per_class_top1": [round(int(a) / max(1, int(b)), 4) for a, b in per.tolist()]}


def main(argv=None) -> None:
    args = parse_args(argv)
    device = torch.device(args.device)
    os.makedirs(args.out, exist_ok=True)
    save = args.save or os.path.join(args.out, "teacher.pt")
    amp = device.type == "cuda"
    deadline = T_START + args.time_budget if args.time_budget > 0 else float("inf")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    log(f"torch {torch.__version__}, python {platform.python_version()}, device {device} ({gpu})")
    index = load_index(args.data)
    have_val = has_split(args.data, "val")

    if args.eval_only:
        model, ck = load_teacher(args.eval_only, device)
        if not have_val:
            sys.exit(f"{args.data}: no val split to measure on")
        xva, yva = (t.to(device) for t in load_split(args.data, "val", args.limit_val))
        res = measure(model, xva, yva, device)
        log(f"{args.eval_only} ({ck['arch']}): val top1 {res['top1'] * 100:.2f}% top5 {res['top5'] * 100:.2f}%")
        with open(os.path.join(args.out, "teacher_eval.json"), "w") as f:
            json.dump({"teacher": os.path.basename(args.eval_only), "sha256": file_sha256(args.eval_only),
                       "arch": ck["arch"], "val_f32": res}, f, indent=1)
        return

    xtr, ytr = (t.to(device) for t in load_split(args.data, "train", args.limit_train))
    n, size = xtr.shape[0], index["size"]
    spe = n // args.batch_size
    if spe < 1:
        sys.exit(f"batch {args.batch_size} larger than the {n} training images")
    log(f"{args.arch}: {n} train images of {size} px, {spe} steps an epoch; val {'present' if have_val else 'absent'}")

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    model = build(args.arch).to(device).to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in model.parameters())
    kw = {"fused": True} if device.type == "cuda" else {}
    try:
        opt = torch.optim.SGD(param_groups(model, args.weight_decay), lr=args.lr, momentum=0.9, nesterov=True, **kw)
    except (TypeError, RuntimeError):
        opt = torch.optim.SGD(param_groups(model, args.weight_decay), lr=args.lr, momentum=0.9, nesterov=True)
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed * 1000003 + 17)
    aug = GpuAugment(size, gen, scale=(args.crop_scale, 1.0), jitter=args.jitter, erase_p=args.erase)
    mix = MixCut(10, random.Random(args.seed * 31 + 5), args.mixup, args.cutmix, args.mix_prob, smoothing=args.smoothing)
    warmup = max(1, int(args.warmup_epochs * spe))
    epochs_total = args.epochs or None
    if epochs_total:
        warmup = min(warmup, epochs_total * spe // 3)
    total = epochs_total * spe if epochs_total else None
    step, history, stop, t_train = 0, [], "finished", 0.0
    epoch_est = None
    ep = 0
    while epochs_total is None or ep < epochs_total:
        if epoch_est is not None and time.time() + epoch_est > deadline - args.reserve:
            stop = "time budget"
            break
        t_ep = time.time()
        pg = torch.Generator(device=device)
        pg.manual_seed(args.seed * 100003 + ep + 7)
        perm = torch.randperm(n, generator=pg, device=device)
        model.train()
        loss_sum = torch.zeros((), device=device)
        for b in range(spe):
            idx = perm[b * args.batch_size:(b + 1) * args.batch_size]
            xb, tb = mix(aug(xtr[idx]), ytr[idx])
            lr = lr_at(step, args.lr, warmup, total)
            for g in opt.param_groups:
                g["lr"] = lr
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(xb.contiguous(memory_format=torch.channels_last))
            loss = torch.sum(-tb * F.log_softmax(logits.float(), -1), -1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            step += 1
            if ep == 0 and b == 3:   # after cuDNN's autotuning: the steady part of epoch 1 starts here
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t_steady = time.time()
        lv = float(loss_sum) / spe                                   # one sync an epoch
        t_end = time.time()
        dt = t_end - t_ep
        t_train += dt
        ep += 1
        history.append({"epoch": ep, "loss": round(lv, 4), "lr": lr, "seconds": round(dt, 2),
                        "img_per_s": round(spe * args.batch_size / dt, 1)})
        if not math.isfinite(lv):
            stop = "non-finite loss"
            break
        if epochs_total is None:   # fix the schedule from the first epoch's speed
            # wall time (steps are not synchronised one by one), past the first 4 steps
            per_epoch = (t_end - t_steady) / (spe - 4) * spe if spe > 8 else dt
            left = deadline - args.reserve - time.time()
            epochs_total = max(ep + 1, ep + int(0.96 * left / per_epoch))
            total = epochs_total * spe
            warmup = min(warmup, total // 3)
            log(f"auto epochs: ~{per_epoch:.2f} s an epoch, {left:.0f} s left -> {epochs_total} epochs")
        epoch_est = dt if epoch_est is None else max(dt, 0.7 * epoch_est + 0.3 * dt)
        if ep <= 2 or ep % 10 == 0 or ep == epochs_total:
            log(f"epoch {ep}/{epochs_total}: loss {lv:.4f} lr {lr:.3f} {history[-1]['img_per_s']:.0f} img/s")

    log(f"training stopped ({stop}) after {ep} epochs, {step} steps, {t_train:.0f} s")
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    meta = {"epochs_done": ep, "epochs_total": epochs_total, "steps": step, "stop": stop,
            "train_seconds": round(t_train, 1), "args": vars(args), "gpu": gpu, "torch": torch.__version__,
            "pack_sha256": index["splits"]["train"]["sha256"], "parameters": n_params}
    os.makedirs(os.path.dirname(os.path.abspath(save)), exist_ok=True)
    ck = {"format": TEACHER_FORMAT, "arch": args.arch, "num_classes": 10, "state_dict": sd,
          "classes": classes_json(), "meta": meta}
    torch.save(ck, save + ".tmp")
    os.replace(save + ".tmp", save)
    exported = export_f16(ck, args.export_f16) if args.export_f16 else []
    result = {"format": "vim-webgpu-teacher-log-v1", "arch": args.arch, "parameters": n_params, **meta,
              "teacher_file": save, "teacher_sha256": file_sha256(save),
              "exported_f16": {os.path.basename(p): file_sha256(p) for p in exported}, "history": history}
    if have_val:   # the one and only look at val: a report, nothing is chosen from it
        xva, yva = (t.to(device) for t in load_split(args.data, "val", args.limit_val))
        result["val_f32"] = measure(model, xva, yva, device)
        log(f"val (float32, measured once, after training): top1 {result['val_f32']['top1'] * 100:.2f}% "
            f"top5 {result['val_f32']['top5'] * 100:.2f}%")
    result["call_seconds"] = round(time.time() - T_START, 1)
    with open(os.path.join(args.out, "teacher_log.json"), "w") as f:
        json.dump(result, f, indent=1)
    log(f"wrote {save} ({os.path.getsize(save) / 2**20:.1f} MiB) and teacher_log.json; done in {result['call_seconds']:.0f} s")


if __name__ == "__main__":
    main()
