"""The ten Imagenette classes: folder name (ImageNet wnid), ImageNet-1k index, short name.

The model's head has 10 outputs in this order (sorted wnids, which is also
ascending ImageNet index), so head output k is CLASSES[k].
"""
from __future__ import annotations

CLASSES = (
    ("n01440764", 0, "tench"),
    ("n02102040", 217, "English springer"),
    ("n02979186", 482, "cassette player"),
    ("n03000684", 491, "chain saw"),
    ("n03028079", 497, "church"),
    ("n03394916", 566, "French horn"),
    ("n03417042", 569, "garbage truck"),
    ("n03425413", 571, "gas pump"),
    ("n03445777", 574, "golf ball"),
    ("n03888257", 701, "parachute"),
)
WNIDS = tuple(c[0] for c in CLASSES)
HEAD_INDEX = {wnid: k for k, wnid in enumerate(WNIDS)}          # wnid -> our 10-way head
IMAGENET_INDEX = {wnid: idx for wnid, idx, _ in CLASSES}         # wnid -> 1000-way head


def classes_json() -> list[dict]:
    """The mapping as written into the data pack, the log and the weights' metadata."""
    return [{"head_index": k, "wnid": w, "imagenet_index": i, "name": n} for k, (w, i, n) in enumerate(CLASSES)]
