"""Writes a split of a training pack (tools/train/pack_data.py) as PNG files in
ImageFolder layout (OUT/<wnid>/<index>.png), so that `vim-webgpu eval` can run
over exactly the pixels PyTorch was scored on during training.

The val split of a pack already went through the official eval transform at the
pack's size, so evaluate it with `--crop-ratio 1` (no second resize or crop).
Prints a sha256 over every decoded pixel: two machines with equal digests feed
the engine the same inputs, whatever their Pillow/libwebp versions.

    python3 bench/valset/pack_to_png.py --data .data --split val --out /tmp/valpng
"""
import argparse
import hashlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor

from PIL import Image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=".data")
    p.add_argument("--split", default="val")
    p.add_argument("--out", required=True)
    args = p.parse_args()

    with open(os.path.join(args.data, "index.json")) as f:
        index = json.load(f)
    if index.get("format") != "vim-webgpu-imagenette-pack-v1":
        raise SystemExit(f"{args.data}/index.json: not a pack written by tools/train/pack_data.py")
    meta = index["splits"][args.split]
    with open(os.path.join(args.data, meta["file"]), "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise SystemExit(f"{args.data}/{meta['file']}: checksum differs from index.json")
    wnids = [c["wnid"] for c in index["classes"]]
    offsets, labels = meta["offsets"], meta["labels"]
    for w in set(wnids[l] for l in labels):
        os.makedirs(os.path.join(args.out, w), exist_ok=True)

    def convert(i: int) -> bytes:
        with Image.open(io.BytesIO(data[offsets[i]:offsets[i + 1]])) as im:
            rgb = im.convert("RGB")
        rgb.save(os.path.join(args.out, wnids[labels[i]], f"{i:05d}.png"))
        return rgb.tobytes()

    digest = hashlib.sha256()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for pixels in pool.map(convert, range(meta["count"])):
            digest.update(pixels)
    print(f"{meta['count']} images ({index['size']} px) -> {args.out}; pixels sha256 {digest.hexdigest()}")


if __name__ == "__main__":
    main()
