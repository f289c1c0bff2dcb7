"""Packs Imagenette (ImageFolder layout: train/<wnid>/*.JPEG, val/<wnid>/*.JPEG) into a
small folder that can travel with a GPU call, by default `.data/` in the repo root:

    index.json   classes, image size, codec, and per split the byte offsets and labels
    train.bin    the training images, each resized to S x S, concatenated WebP files
    val.bin      the val images, already put through the official eval transform at S
                 (shorter side to int(S / 0.875), bicubic; centre crop S x S), then WebP

Why WebP: at 128 px, WebP quality 60 is ~2.3 KB an image (about 30 MiB for all 13,394)
at a PSNR of ~32.5 dB, where JPEG needs quality ~50 for the same bytes and looks worse;
raw uint8 would be 650 MB. Decoding all of it takes a few seconds on the GPU machine.

    python3 tools/train/pack_data.py --src PATH/TO/imagenette --out .data [--size 128] [--quality 60]

Needs Pillow (with WebP, as Pillow's wheels and Debian's python3-pil have). The order of
images is the sorted order of their paths, so a pack is reproducible from the source.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from multiprocessing import Pool

from PIL import Image

if __package__ in (None, ""):  # run as a script: make `tools.train` importable
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from tools.train.classes import WNIDS, classes_json  # noqa: E402

EVAL_CROP_RATIO = 0.875   # official default (--eval-crop-ratio)


def eval_transform_pil(img: Image.Image, size: int) -> Image.Image:
    """The official eval transform up to ToTensor (docs/preprocessing.md): the shorter side to
    int(size / 0.875) with PIL bicubic, the longer side truncated in proportion,
    then a size x size centre crop with Python's round-half-even offsets."""
    short = int(size / EVAL_CROP_RATIO)
    w, h = img.size
    if w <= h:
        nw, nh = short, int(short * h / w)
    else:
        nw, nh = int(short * w / h), short
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BICUBIC)
    top, left = round((nh - size) / 2), round((nw - size) / 2)
    return img.crop((left, top, left + size, top + size))


def train_transform_pil(img: Image.Image, size: int) -> Image.Image:
    """Training source images: the shorter side to `size` (bicubic), centre square.
    Random crops are taken later, on the GPU, from this square."""
    w, h = img.size
    s = min(w, h)
    if w != h:
        left, top = (w - s) // 2, (h - s) // 2
        img = img.crop((left, top, left + s, top + s))
    return img if s == size else img.resize((size, size), Image.BICUBIC)


def _encode(job):
    path, split, size, codec, quality = job
    with Image.open(path) as im:
        img = im.convert("RGB")   # a few Imagenette photos are greyscale ('L')
    img = eval_transform_pil(img, size) if split == "val" else train_transform_pil(img, size)
    buf = io.BytesIO()
    if codec == "webp":
        img.save(buf, "WEBP", quality=quality, method=6)
    else:
        img.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
    return buf.getvalue()


def list_split(src: str, split: str, limit: int = 0) -> list[tuple[str, int]]:
    folder = os.path.join(src, split)
    found = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if found != sorted(WNIDS):
        raise SystemExit(f"pack_data: {folder} holds {found}, expected the 10 wnids {sorted(WNIDS)}")
    items = []
    for label, wnid in enumerate(WNIDS):
        names = sorted(f for f in os.listdir(os.path.join(folder, wnid))
                       if f.lower().endswith((".jpeg", ".jpg", ".png")))
        items += [(os.path.join(folder, wnid, f), label) for f in names[:limit or None]]
    return items


def source_commit(src: str) -> str | None:
    try:
        return subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except Exception:
        return None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="Imagenette root holding train/ and val/")
    p.add_argument("--out", default=".data")
    p.add_argument("--size", type=int, default=128, help="stored side S (and the training input size)")
    p.add_argument("--codec", choices=("webp", "jpeg"), default="webp")
    p.add_argument("--quality", type=int, default=60)
    p.add_argument("--limit-per-class", type=int, default=0, help="for tests: first N images of each class")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = p.parse_args(argv)

    os.makedirs(a.out, exist_ok=True)
    index = {"format": "vim-webgpu-imagenette-pack-v1", "size": a.size, "codec": a.codec, "quality": a.quality,
             "source": {"repo": "thunderInfy/imagenette", "commit": source_commit(a.src)},
             "classes": classes_json(),
             "transforms": {"train": f"shorter side to {a.size} (PIL bicubic), centre square",
                            "val": f"official eval: shorter side to int({a.size}/0.875)={int(a.size / EVAL_CROP_RATIO)} "
                                   f"(PIL bicubic), centre crop {a.size} (round half to even)"},
             "splits": {}}
    t0 = time.time()
    with Pool(a.jobs) as pool:
        for split in ("train", "val"):
            items = list_split(a.src, split, a.limit_per_class)
            offsets, h = [0], hashlib.sha256()
            fname = f"{split}.bin"
            with open(os.path.join(a.out, fname), "wb") as f:
                jobs = ((path, split, a.size, a.codec, a.quality) for path, _ in items)
                for i, blob in enumerate(pool.imap(_encode, jobs, chunksize=32)):
                    f.write(blob)
                    h.update(blob)
                    offsets.append(offsets[-1] + len(blob))
                    if (i + 1) % 2000 == 0:
                        print(f"  {split}: {i + 1}/{len(items)} ({time.time() - t0:.0f} s)", flush=True)
            index["splits"][split] = {"file": fname, "count": len(items), "bytes": offsets[-1],
                                      "sha256": h.hexdigest(), "labels": [lab for _, lab in items],
                                      "offsets": offsets}
            print(f"{split}: {len(items)} images, {offsets[-1] / 2**20:.2f} MiB", flush=True)
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, separators=(",", ":"))
    total = sum(os.path.getsize(os.path.join(a.out, n)) for n in ("train.bin", "val.bin", "index.json"))
    print(f"wrote {a.out}: {total / 2**20:.2f} MiB in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
