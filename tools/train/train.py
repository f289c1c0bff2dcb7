"""Trains a Vim-Ti (D 192, 24 layers, N 16, patch 16) with a 10-class head on a
packed Imagenette (tools/train/pack_data.py), everything on one GPU: the decoded
images live on the GPU as uint8 and are augmented there (gpu_aug.py).

    python3 tools/train/train.py --data .data --out $OUT --time-budget 540
    python3 tools/train/train.py --smoke --data .data --out /tmp/smoke      # CPU test

Recipe (defaults): AdamW (lr 1e-3 at batch 256, wd 0.05 except norms/biases/pos/cls/
A_log/D, betas 0.9/0.999), linear warm-up 5 epochs then cosine to 1e-5, grad-norm clip
1, bf16 autocast (scan and residual stream in float32), drop-path 0.1, random resized
crop (area 0.25-1) + flip + colour jitter + random erasing 0.25, mixup 0.8 / cutmix 1.0,
label smoothing 0.1, EMA 0.999. Seeded (--seed).

Distillation (--teacher T.pt from teacher.py): the teacher sees exactly the student's
batch (the same crop, flip, jitter, erasing and mixup/cutmix: "consistent" teaching)
and gives the target. --distill soft (default with a teacher): KL(teacher || student)
at temperature --distill-tau, weight --distill-alpha, the rest on the mixed labels;
--distill hard: DeiT's hard distillation without a distillation token, half the loss on
the teacher's argmax, half on the mixed labels.

Model selection: none on val. The weights written are fixed by a rule chosen before
training (--final-weights: raw, the default, or ema); val is measured once at the end
to report the chosen weights (and, with --eval-every N, every N epochs for the log
only). A pack without val.bin trains the same and skips the measurements.

Time: with --time-budget T (seconds from start to the last file written) and
--epochs 0 (the default then), the number of epochs is fixed after the first one from
its measured speed so that the cosine schedule ends inside T. With --epochs N the
schedule is N epochs and a run that reaches T stops cleanly (mid-epoch if need be) and
leaves resume.pt; the next call continues with --resume that file (see README.md).

Outputs in --out (each < 16 MiB, so they come back from the GPU machine):
  resume.pt                          training state: weights (float16) + schedule + log
  <name>_f16.safetensors             final weights, float16, official names
  <name>_f32.part1/2.safetensors     final weights, float32, split in two by key
  <name>.pth                         {'model': float32 state dict}, only when < 15 MiB
                                     (smoke runs); else merge_parts.py makes it
  train_log.json                     per-epoch loss / accuracy / throughput, final result
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import random
import sys
import time
from collections import OrderedDict

T_START = time.time()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

if __package__ in (None, ""):  # run as a script: make `tools.*` importable
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from tools.train import st_io, triton_scan  # noqa: E402
from tools.train.classes import classes_json  # noqa: E402
from tools.train.gpu_aug import GpuAugment, MixCut, to_input  # noqa: E402
from tools.train.packed import has_split, load_index, load_split  # noqa: E402
from tools.vim_torch.model import VisionMamba  # noqa: E402

RESUME_FORMAT = "vim-webgpu-train-resume-v1"
PER_CALL_ARGS = {"data", "out", "name", "resume", "time_budget", "reserve", "ckpt_every", "rewarm_steps", "scan",
                 "compile", "device", "eval_every", "ema_eval_every", "stop_after_steps", "teacher"}
NO_DECAY_SUFFIXES = (".bias", "A_log", "A_b_log", "mixer.D", "mixer.D_b")
NO_DECAY_NAMES = ("pos_embed", "cls_token")


def log(msg: str) -> None:
    print(f"[{time.time() - T_START:7.1f}s] {msg}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--data", default=".data", help="folder written by pack_data.py")
    a("--out", default=os.environ.get("OUT") or "train_out")
    a("--name", default="vim_ti_imagenette", help="prefix of the weight files")
    a("--resume", default="", help="resume.pt from an earlier call")
    a("--init", default="", help="start from the weights of a resume.pt, or of a safetensors file with the official "
      "names (f32/f16, e.g. weights/vim-ti-imagenette.f16.safetensors), with a fresh schedule (fine-tuning)")
    a("--teacher", default="", help="teacher.py's file: distil from it (per call: give it again when resuming)")
    a("--distill", choices=("soft", "hard", "none"), default="soft", help="with --teacher: the distillation loss")
    a("--distill-alpha", type=float, default=1.0, help="soft: weight of the KL term (1 - alpha on the mixed labels)")
    a("--distill-tau", type=float, default=1.0, help="soft: temperature")
    a("--final-weights", choices=("raw", "ema"), default="raw",
      help="which weights are written: a fixed rule, never chosen on val (ema needs --ema-decay > 0)")
    a("--time-budget", type=float, default=0, help="seconds from start until all outputs are written (0: none)")
    a("--reserve", type=float, default=30, help="seconds kept for the final evaluation and the writes")
    a("--ckpt-every", type=float, default=3.0, help="minutes between resume.pt writes (at epoch ends)")
    a("--epochs", type=int, default=-1, help="total epochs; 0 = fit into --time-budget (default when a budget is set)")
    a("--batch-size", type=int, default=256)
    a("--lr", type=float, default=1e-3)
    a("--min-lr", type=float, default=1e-5)
    a("--warmup-epochs", type=float, default=5)
    a("--rewarm-steps", type=int, default=100, help="after a resume: LR ramp while Adam's moments rebuild")
    a("--weight-decay", type=float, default=0.05)
    a("--clip-grad", type=float, default=1.0)
    a("--drop-path", type=float, default=0.1)
    a("--ema-decay", type=float, default=0.999, help="0 = no EMA")
    a("--mixup", type=float, default=0.8)
    a("--cutmix", type=float, default=1.0)
    a("--mix-prob", type=float, default=1.0)
    a("--smoothing", type=float, default=0.1)
    a("--crop-scale", type=float, default=0.25, help="smallest crop area fraction")
    a("--rotate", type=float, default=0.0, help="max rotation in degrees")
    a("--jitter", type=float, default=0.3)
    a("--erase", type=float, default=0.25)
    a("--depth", type=int, default=24)
    a("--embed-dim", type=int, default=192)
    a("--d-state", type=int, default=16)
    a("--stride", type=int, default=16)
    a("--size", type=int, default=0, help="input size (default: the pack's size)")
    a("--scan", choices=("auto", "triton", "chunked"), default="auto",
      help="auto: the Triton scan if it passes its self-check on this GPU, else the chunked scan")
    a("--compile", action="store_true", help="torch.compile the model for training (untested on the H200)")
    a("--amp", choices=("bf16", "off"), default="bf16")
    a("--eval-every", type=int, default=0, help="epochs between val evaluations (log only; 0: only at the end)")
    a("--ema-eval-every", type=int, default=5, help="epochs between val evaluations of the EMA (log only)")
    a("--seed", type=int, default=0)
    a("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a("--limit-train", type=int, default=0, help="use an evenly spread subset (tests)")
    a("--limit-val", type=int, default=0)
    a("--stop-after-steps", type=int, default=0, help=argparse.SUPPRESS)   # tests of the resume path
    a("--smoke", action="store_true", help="CPU test: depth 2, 64/32 images, 2 epochs of batch 16")
    args = p.parse_args(argv)
    if args.smoke:
        args.depth, args.batch_size, args.warmup_epochs = 2, 16, 1
        args.limit_train, args.limit_val = args.limit_train or 64, args.limit_val or 32
        if args.epochs < 0:
            args.epochs = 2
    if args.epochs < 0:
        args.epochs = 0 if args.time_budget > 0 else 100
    if args.epochs == 0 and args.time_budget <= 0:
        p.error("--epochs 0 (fit the budget) needs --time-budget")
    if args.final_weights == "ema" and args.ema_decay <= 0:
        p.error("--final-weights ema needs --ema-decay > 0")
    return args


def load_init(path: str) -> "OrderedDict[str, torch.Tensor]":
    """Float32 weights of a resume.pt or of a safetensors file with the official names (the
    engine's f16/f32 files qualify: their alignment pads `__pad__.*` are dropped; int8 is refused)."""
    if path.endswith(".safetensors"):
        sd, _ = st_io.load(path)
        return OrderedDict((k, v.float()) for k, v in sd.items() if not k.startswith("__pad__."))
    init = torch.load(path, map_location="cpu", weights_only=False)  # our own file
    return OrderedDict((k, v.float()) for k, v in init["model_f16"].items())


def distill_loss(logits, teacher_logits, label_targets, kind: str, alpha: float, tau: float):
    """soft: alpha * tau^2 * KL(p_teacher || p_student) at temperature tau (written as the cross-entropy,
    whose gradient is the KL's) + (1 - alpha) * CE(mixed labels); hard: (CE(teacher argmax) + CE(labels)) / 2."""
    z, zt = logits.float(), teacher_logits.float()
    if kind == "hard":
        return 0.5 * F.cross_entropy(z, zt.argmax(-1)) + 0.5 * soft_ce(z, label_targets)
    kd = soft_ce(z / tau, F.softmax(zt / tau, -1)) * tau * tau
    return kd if alpha >= 1 else alpha * kd + (1 - alpha) * soft_ce(z, label_targets)


# ---------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------

def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, prm in model.named_parameters():
        if prm.ndim <= 1 or name in NO_DECAY_NAMES or name.endswith(NO_DECAY_SUFFIXES):
            no_decay.append(prm)
        else:
            decay.append(prm)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model, args, device):
    groups = param_groups(model, args.weight_decay)
    for kw in ({"fused": True}, {"foreach": True}, {}):   # fused needs CUDA and torch >= 2.0
        if kw and device.type != "cuda":
            continue
        try:
            return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999), **kw)
        except (TypeError, RuntimeError):
            continue
    raise RuntimeError("no AdamW")


class Schedule:
    """Linear warm-up then cosine; total steps may be set later (auto epochs)."""

    def __init__(self, base, min_lr, warmup_steps, total_steps=None):
        self.base, self.min_lr, self.warmup, self.total = base, min_lr, max(1, warmup_steps), total_steps
        self.rewarm_from, self.rewarm_len = None, 0

    def __call__(self, step):
        if step < self.warmup:
            lr = self.base * (step + 1) / self.warmup
        elif self.total is None:
            lr = self.base
        else:
            prog = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
            lr = self.min_lr + 0.5 * (self.base - self.min_lr) * (1 + math.cos(math.pi * prog))
        if self.rewarm_from is not None and self.rewarm_len > 0:
            lr *= min(1.0, (step - self.rewarm_from + 1) / self.rewarm_len)
        return lr


class Ema:
    """Exponential moving average of the parameters (float32), decay warmed up as timm's."""

    def __init__(self, model, decay):
        self.decay, self.steps = decay, 0
        self.model = copy.deepcopy(model).eval()
        for prm in self.model.parameters():
            prm.requires_grad_(False)
        self.src = [p for p in model.parameters()]
        self.dst = [p for p in self.model.parameters()]

    @torch.no_grad()
    def update(self):
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        self.steps += 1
        if hasattr(torch, "_foreach_lerp_"):
            torch._foreach_lerp_(self.dst, self.src, 1 - d)
        else:
            for e, p in zip(self.dst, self.src):
                e.mul_(d).add_(p.detach(), alpha=1 - d)


@torch.no_grad()
def evaluate(model, x_u8, y, batch, amp: bool, device):
    """Top-1 / top-5 / per-class top-1 on already eval-transformed uint8 images."""
    model.eval()
    correct1 = correct5 = 0
    per_class = torch.zeros(10, 2, dtype=torch.long)
    for i in range(0, x_u8.shape[0], batch):
        xb, yb = to_input(x_u8[i:i + batch]), y[i:i + batch]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(xb).float()
        top5 = logits.topk(5, 1).indices
        hit1 = top5[:, 0] == yb
        correct1 += int(hit1.sum())
        correct5 += int((top5 == yb[:, None]).any(1).sum())
        per_class[:, 0] += torch.bincount(yb[hit1].cpu(), minlength=10)
        per_class[:, 1] += torch.bincount(yb.cpu(), minlength=10)
    n = x_u8.shape[0]
    return {"top1": correct1 / n, "top5": correct5 / n,
            "per_class_top1": [round(int(c) / max(1, int(t)), 4) for c, t in per_class.tolist()]}


def soft_ce(logits, target):
    return torch.sum(-target * F.log_softmax(logits.float(), -1), -1).mean()


def split_keys(sd: "OrderedDict[str, torch.Tensor]"):
    """Splits the keys (in order) into two runs of about equal bytes."""
    total = sum(t.numel() * t.element_size() for t in sd.values())
    first, acc = [], 0
    for k, t in sd.items():
        if acc >= total / 2:
            break
        first.append(k)
        acc += t.numel() * t.element_size()
    return first, [k for k in sd if k not in set(first)]


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------

def main(argv=None) -> None:
    args = parse_args(argv)
    device = torch.device(args.device)
    os.makedirs(args.out, exist_ok=True)
    amp = args.amp == "bf16" and device.type == "cuda"
    deadline = T_START + args.time_budget if args.time_budget > 0 else float("inf")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        gpu = torch.cuda.get_device_name(device)
    else:
        gpu = "none"
    log(f"torch {torch.__version__}, python {platform.python_version()}, device {device} ({gpu})")

    # -- resume state ------------------------------------------------------
    ck = None
    if args.resume:
        ck = torch.load(args.resume, map_location="cpu", weights_only=False)  # our own file
        if ck.get("format") != RESUME_FORMAT:
            sys.exit(f"{args.resume}: not a resume file of this script")
        # the run's recipe (model, data, schedule, augmentation, seed) comes from the checkpoint;
        # only what concerns this call is taken from this command line
        for k, v in ck["meta"]["args"].items():
            if k not in PER_CALL_ARGS:
                setattr(args, k, v)
        log(f"resuming {args.resume}: epoch {ck['meta']['epoch']}, batch {ck['meta']['batch_in_epoch']}, "
            f"step {ck['meta']['step']} of {ck['meta']['total_steps']}")

    # -- data --------------------------------------------------------------
    index = load_index(args.data)
    args.size = args.size or index["size"]
    if args.size != index["size"]:
        sys.exit(f"--size {args.size} but the pack holds {index['size']} px images (re-pack for another size)")
    xtr, ytr = load_split(args.data, "train", args.limit_train)
    xtr, ytr = xtr.to(device), ytr.to(device)
    have_val = has_split(args.data, "val")
    if have_val:
        xva, yva = (t.to(device) for t in load_split(args.data, "val", args.limit_val))
    else:
        xva = yva = torch.zeros(0)
        log("no val split in the pack: no val measurements in this call")
    n_train = xtr.shape[0]
    spe = n_train // args.batch_size                       # steps per epoch (last partial batch dropped)
    if spe < 1:
        sys.exit(f"batch {args.batch_size} larger than the {n_train} training images")
    log(f"data: {n_train} train / {xva.shape[0]} val images of {args.size} px on {device}, {spe} steps an epoch")

    # -- scan --------------------------------------------------------------
    scan, scan_note = "chunked", "CPU: chunked scan"
    if device.type == "cuda" and args.scan in ("auto", "triton"):
        ok, scan_note = triton_scan.self_check(str(device))
        log(f"Triton scan self-check: {'passed' if ok else 'FAILED'}: {scan_note}")
        if ok:
            triton_scan.install()
            scan = "triton"
        elif args.scan == "triton":
            sys.exit("--scan triton but the Triton scan failed its check")
    elif args.scan == "chunked":
        scan_note = "chunked scan (asked for)"
    log(f"scan: {scan}")

    # -- model, optimiser, EMA ---------------------------------------------
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    model = VisionMamba(img_size=args.size, patch_size=16, stride=args.stride, depth=args.depth,
                        embed_dim=args.embed_dim, d_state=args.d_state, num_classes=10,
                        drop_path_rate=args.drop_path, scan_impl=scan).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: depth {args.depth}, D {args.embed_dim}, {model.patch_embed.num_patches + 1} tokens, "
        f"{n_params:,} parameters")
    meta = {"epoch": 0, "batch_in_epoch": 0, "step": 0, "history": [], "calls": [], "train_seconds": 0.0,
            "total_steps": None, "epochs_total": args.epochs or None}
    if ck is not None:
        model.load_state_dict(OrderedDict((k, v.float()) for k, v in ck["model_f16"].items()))
        meta.update({k: ck["meta"][k] for k in ("epoch", "batch_in_epoch", "step", "history", "calls",
                                                 "train_seconds", "total_steps", "epochs_total")})
        if ck["meta"].get("pack_sha256") != index["splits"]["train"]["sha256"]:
            log("warning: the training pack differs from the one this run started with")
    if args.init and ck is None:
        model.load_state_dict(load_init(args.init))
        log(f"initialised from {args.init} (weights only; fresh schedule)")
    teacher, teacher_info = None, None
    if args.teacher and args.distill != "none":
        from tools.train.teacher import file_sha256, load_teacher
        teacher, tck = load_teacher(args.teacher, device)
        teacher_info = {"file": os.path.basename(args.teacher), "sha256": file_sha256(args.teacher),
                        "arch": tck["arch"], "epochs": tck["meta"]["epochs_done"],
                        "distill": args.distill, "alpha": args.distill_alpha, "tau": args.distill_tau}
        if tck["meta"].get("pack_sha256") != index["splits"]["train"]["sha256"]:
            log("warning: the teacher was trained on another training pack")
        log(f"teacher {tck['arch']} from {args.teacher} ({tck['meta']['epochs_done']} epochs): "
            f"{args.distill} distillation" + (f", alpha {args.distill_alpha}, tau {args.distill_tau}"
                                              if args.distill == "soft" else ""))
    elif ck is not None and ck["meta"]["args"].get("teacher") and args.distill != "none":
        sys.exit("this run distils from a teacher: give --teacher again when resuming")
    opt = make_optimizer(model, args, device)
    # the EMA is kept only when it is the weights to be written (a fixed rule, --final-weights)
    ema = Ema(model, args.ema_decay) if args.ema_decay > 0 and args.final_weights == "ema" else None
    warmup_steps = int(args.warmup_epochs * spe)
    if args.epochs:  # a short fixed schedule: keep the warm-up within its first third
        warmup_steps = min(warmup_steps, args.epochs * spe // 3)
    meta["total_steps"] = meta["total_steps"] or (args.epochs * spe if args.epochs else None)
    sched = Schedule(args.lr, args.min_lr, warmup_steps, meta["total_steps"])
    if ck is not None:
        sched.warmup = ck["meta"].get("warmup_steps", sched.warmup)
        sched.rewarm_from, sched.rewarm_len = meta["step"], args.rewarm_steps
    fwd = model
    if args.compile:
        if hasattr(torch, "compile"):
            fwd = torch.compile(model)
            log("torch.compile on (first steps compile)")
        else:
            log("torch.compile not in this torch; running eagerly")

    call_no = len(meta["calls"])
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed * 1000003 + call_no * 7919 + 1)
    aug = GpuAugment(args.size, gen, scale=(args.crop_scale, 1.0), rotate_deg=args.rotate, jitter=args.jitter,
                     erase_p=args.erase)
    mix = MixCut(10, random.Random(args.seed * 31 + call_no), args.mixup, args.cutmix, args.mix_prob,
                 smoothing=args.smoothing)
    eval_batch = 1000

    def ckpt_meta():
        m = dict(meta)
        m.update({"args": vars(args), "pack_sha256": index["splits"]["train"]["sha256"], "warmup_steps": sched.warmup})
        return m

    def write_resume():
        path = os.path.join(args.out, "resume.pt")
        torch.save({"format": RESUME_FORMAT,
                    "model_f16": OrderedDict((k, v.detach().half().cpu()) for k, v in model.state_dict().items()),
                    "meta": ckpt_meta()}, path + ".tmp")
        os.replace(path + ".tmp", path)

    # -- training loop -----------------------------------------------------
    call = {"call": call_no, "start_step": meta["step"], "scan": scan, "gpu": gpu}
    meta["calls"].append(call)
    last_ckpt = time.time()
    start_epoch = meta["epoch"]
    epoch_estimate = None
    stop_reason = "finished"
    skipped = 0
    while True:
        epochs_total = meta["epochs_total"]
        if epochs_total is not None and meta["epoch"] >= epochs_total:
            break
        now = time.time()
        if epoch_estimate is not None and now + epoch_estimate * (1 - meta["batch_in_epoch"] / spe) > deadline - args.reserve:
            stop_reason = "time budget"
            break
        ep, t_ep = meta["epoch"], time.time()
        permg = torch.Generator(device=device)
        permg.manual_seed(args.seed * 100003 + ep)
        perm = torch.randperm(n_train, generator=permg, device=device)
        model.train()
        loss_sum, n_seen, step_times = 0.0, 0, []
        start_b = meta["batch_in_epoch"]
        t_train = time.time()
        for b in range(start_b, spe):
            if time.time() > deadline - args.reserve:
                stop_reason = "time budget"
                break
            if args.stop_after_steps and meta["step"] - call["start_step"] >= args.stop_after_steps:
                stop_reason = "step limit"   # tests: stands in for the deadline
                break
            ts = time.time()
            idx = perm[b * args.batch_size:(b + 1) * args.batch_size]
            xb, tb = mix(aug(xtr[idx]), ytr[idx])
            lr = sched(meta["step"])
            for grp in opt.param_groups:
                grp["lr"] = lr
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = fwd(xb)
                if teacher is not None:
                    with torch.no_grad():
                        t_logits = teacher(xb.contiguous(memory_format=torch.channels_last))
            if teacher is not None:
                loss = distill_loss(logits, t_logits, tb, args.distill, args.distill_alpha, args.distill_tau)
            else:
                loss = soft_ce(logits, tb)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad if args.clip_grad > 0 else 1e9)
            lv, gv = torch.stack([loss.detach().float(), gnorm.detach().float()]).tolist()
            if math.isfinite(lv) and math.isfinite(gv):
                opt.step()
                if ema is not None:
                    ema.update()
                loss_sum += lv * xb.shape[0]
                n_seen += xb.shape[0]
            else:  # a bad batch: skip it, never poison the weights
                skipped += 1
                log(f"non-finite loss/grad at step {meta['step']} (loss {lv}, grad norm {gv}); step skipped")
                if skipped > 20:
                    stop_reason = "too many non-finite steps"
                    break
            opt.zero_grad(set_to_none=True)
            meta["step"] += 1
            meta["batch_in_epoch"] = b + 1
            step_times.append(time.time() - ts)
            if (b + 1) % max(1, spe // 4) == 0 and ep == 0:
                log(f"  epoch 1 step {b + 1}/{spe}: loss {lv:.4f}, lr {lr:.2e}, {step_times[-1] * 1e3:.0f} ms/step")
        train_time = time.time() - t_train
        meta["train_seconds"] += train_time
        if stop_reason != "finished":
            break
        # epoch done
        meta["epoch"] += 1
        meta["batch_in_epoch"] = 0
        rec = {"epoch": meta["epoch"], "step": meta["step"], "lr": sched(meta["step"] - 1),
               "train_loss": round(loss_sum / max(1, n_seen), 5),
               "train_img_per_s": round(n_seen / max(1e-9, train_time), 1), "epoch_seconds": None}
        if have_val and args.eval_every > 0 and meta["epoch"] % args.eval_every == 0:
            t_ev = time.time()
            rec["val"] = evaluate(model, xva, yva, eval_batch, amp, device)
            if ema is not None and meta["epoch"] % args.ema_eval_every == 0:
                rec["val_ema"] = evaluate(ema.model, xva, yva, eval_batch, amp, device)
            rec["eval_seconds"] = round(time.time() - t_ev, 2)
        rec["epoch_seconds"] = round(time.time() - t_ep, 2)
        meta["history"].append(rec)
        # auto epochs: fix the schedule from the first epoch's speed
        if ep == start_epoch and device.type == "cuda":
            log(f"  peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")
        if meta["epochs_total"] is None:
            steady = step_times[3:] or step_times
            per_epoch = sum(steady) / len(steady) * spe + rec.get("eval_seconds", 0.0) / max(1, args.eval_every)
            left = deadline - args.reserve - time.time()
            meta["epochs_total"] = max(meta["epoch"] + 1, meta["epoch"] + int(0.97 * left / per_epoch))
            meta["total_steps"] = sched.total = meta["epochs_total"] * spe
            if meta["step"] < sched.warmup:  # few epochs fit: shorten a warm-up still running
                sched.warmup = max(meta["step"], min(sched.warmup, sched.total // 3))
            log(f"auto epochs: ~{per_epoch:.2f} s an epoch, {left:.0f} s left -> {meta['epochs_total']} epochs "
                f"({meta['total_steps']} steps)")
        epoch_estimate = rec["epoch_seconds"] if epoch_estimate is None else max(
            rec["epoch_seconds"], 0.7 * epoch_estimate + 0.3 * rec["epoch_seconds"])
        msg = f"epoch {meta['epoch']}/{meta['epochs_total']}: loss {rec['train_loss']:.4f} lr {rec['lr']:.2e} " \
              f"{rec['train_img_per_s']:.0f} img/s {rec['epoch_seconds']:.1f} s"
        if "val" in rec:
            msg += f" | val top1 {rec['val']['top1'] * 100:.2f}%"
            if "val_ema" in rec:
                msg += f" ema {rec['val_ema']['top1'] * 100:.2f}%"
        log(msg)
        if time.time() - last_ckpt > args.ckpt_every * 60:
            write_resume()
            last_ckpt = time.time()
            log("  wrote resume.pt")

    # -- final: the weights the fixed rule names (no selection), measured once on val --
    log(f"training stopped ({stop_reason}) at epoch {meta['epoch']}, batch {meta['batch_in_epoch']}, "
        f"step {meta['step']}; final evaluation in float32")
    call.update({"end_step": meta["step"], "stop": stop_reason})
    write_resume()
    # float32 as the engine computes: no TF32 in matmuls or in the patch-embedding convolution
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    pick = args.final_weights
    chosen = ema.model if pick == "ema" else model
    final = {}
    if have_val:
        final[pick] = evaluate(chosen, xva, yva, eval_batch, False, device)
        log(f"writing the {pick} weights (fixed rule); val (float32, a report): "
            f"top1 {final[pick]['top1'] * 100:.2f}% top5 {final[pick]['top5'] * 100:.2f}%")
    else:
        log(f"writing the {pick} weights (fixed rule); no val in this call")

    sd = OrderedDict((k, v.detach().float().cpu().contiguous()) for k, v in chosen.state_dict().items())
    arch = {"img_size": args.size, "patch_size": 16, "stride": args.stride, "depth": args.depth,
            "embed_dim": args.embed_dim, "d_state": args.d_state, "num_classes": 10}
    st_meta = {"format": "vim-webgpu-imagenette-v1", "arch": json.dumps(arch), "classes": json.dumps(classes_json()),
               "weights": pick, "selection": "fixed rule (--final-weights), no selection on val",
               "epochs": str(meta["epoch"]),
               "seed": str(args.seed), "complete": str(stop_reason == "finished").lower()}
    if pick in final:
        st_meta["val_top1_f32"] = f"{final[pick]['top1']:.4f}"
    if teacher_info is not None:
        st_meta["teacher"] = json.dumps(teacher_info)
    files, notes = {}, {}

    def save_st(fname, tensors, extra):
        path = os.path.join(args.out, fname)
        files[fname] = st_io.save(path, tensors, {**st_meta, **extra})
        notes[fname] = st_io.cross_check(path, tensors)

    save_st(f"{args.name}_f16.safetensors", OrderedDict((k, v.half()) for k, v in sd.items()), {"dtype": "float16"})
    k1, k2 = split_keys(sd)
    for part, keys in ((1, k1), (2, k2)):
        save_st(f"{args.name}_f32.part{part}.safetensors", OrderedDict((k, sd[k]) for k in keys),
                {"dtype": "float32", "part": f"{part}/2", "keys_total": str(len(sd))})
    f32_bytes = sum(v.numel() * 4 for v in sd.values())
    if f32_bytes < 15 * 2**20:
        path = os.path.join(args.out, f"{args.name}.pth")
        torch.save({"model": sd}, path)
        files[f"{args.name}.pth"] = os.path.getsize(path)
    files["resume.pt"] = os.path.getsize(os.path.join(args.out, "resume.pt"))
    result = {"format": "vim-webgpu-train-log-v1", "args": vars(args), "arch": arch, "parameters": n_params,
              "classes": classes_json(), "pack": {k: index[k] for k in ("size", "codec", "quality", "source")},
              "torch": torch.__version__, "gpu": gpu, "scan": scan, "scan_check": scan_note,
              "stop": stop_reason, "epochs_done": meta["epoch"], "epochs_total": meta["epochs_total"],
              "steps": meta["step"], "skipped_steps": skipped, "train_seconds": round(meta["train_seconds"], 1),
              "call_seconds": round(time.time() - T_START, 1), "calls": meta["calls"],
              "final_val_f32": final, "weights": pick, "selection": st_meta["selection"], "teacher": teacher_info,
              "files": files, "file_checks": notes,
              "history": meta["history"]}
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(result, f, indent=1)
    for fname, size in files.items():
        log(f"  {fname}: {size / 2**20:.2f} MiB" + (f" ({notes[fname]})" if fname in notes else ""))
    log(f"done in {time.time() - T_START:.0f} s")


if __name__ == "__main__":
    main()
