"""The README's figures that the shipped models determine, against what the code gives now.

After a change of the models, regenerate the README's picture (``docs/demo_proposals.jpg``,
the eight best-ranked MCG proposals of scikit-image's astronaut, ``mcg.pictures.
save_proposals_picture(..., top_k=8)`` scaled to 900 pixels wide) and its caption.
"""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_demo_caption_counts_the_proposals_the_demo_gives():
    import skimage.data

    from mcg import im2mcg

    caption = re.search(r"the eight best-ranked of the ([\d,]+) MCG proposals of "
                        r"scikit-image's astronaut", README.read_text())
    assert caption, "README: the demo picture's caption is missing"
    stated = int(caption.group(1).replace(",", ""))
    proposals = im2mcg(skimage.data.astronaut(), mode="mcg")
    # the count may move by a few proposals between machines (round-off in the eigen-solver)
    assert abs(proposals.n_proposals - stated) <= 0.01 * stated, (
        f"README says {stated} proposals, the demo gives {proposals.n_proposals}: regenerate "
        "the picture and its caption")
