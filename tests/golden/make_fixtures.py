"""Write the golden fixtures of the shipped models' outputs (run after a deliberate change).

    python tests/golden/make_fixtures.py

The image is scikit-image's astronaut reduced to 96 x 96 (area interpolation), so the
fixtures need nothing outside the package and its dependencies. ``tests/test_golden.py``
recomputes everything and compares.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).resolve().parent
SIZE = 96
TOP = 10


def golden_image() -> np.ndarray:
    """(96, 96, 3) uint8 RGB: scikit-image's astronaut, area-reduced."""
    import cv2

    from mcg.io import default_image

    _, image = default_image()
    return cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def quantize(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] as uint8 levels (0..255)."""
    return np.clip(np.round(np.asarray(values, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def compute() -> dict:
    """Every output the fixtures hold, from the shipped models."""
    from pycocotools import mask as mask_utils

    import mcg

    image = golden_image()
    edges, _ = mcg.detect_edges(image)
    outputs = {"edges": quantize(edges)}
    for mode in ("scg", "mcg"):
        outputs[f"ucm_{mode}"] = quantize(mcg.im2ucm(image, mode=mode).to_ucm())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            proposals = mcg.im2mcg(image, mode=mode)
        top = []
        for i in range(min(TOP, proposals.n_proposals)):
            rle = mask_utils.encode(np.asfortranarray(proposals.mask(i).astype(np.uint8)))
            top.append({"score": round(float(proposals.scores[i]), 6),
                        "box": [int(v) for v in proposals.boxes[i]],
                        "rle": rle["counts"].decode("ascii")})
        outputs[f"proposals_{mode}"] = {"n_proposals": proposals.n_proposals, "top": top}
    return outputs


def main() -> int:
    outputs = compute()
    arrays = {k: v for k, v in outputs.items() if isinstance(v, np.ndarray)}
    np.savez_compressed(FOLDER / "astronaut96.npz", **arrays)
    proposals = {k: v for k, v in outputs.items() if not isinstance(v, np.ndarray)}
    (FOLDER / "astronaut96_proposals.json").write_text(json.dumps(proposals, indent=1) + "\n")
    for path in sorted(FOLDER.glob("astronaut96*")):
        print(f"{path.name}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
