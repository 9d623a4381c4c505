"""Pictures of results for people: hierarchies and proposals drawn over the image."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def save_hierarchy_picture(image: np.ndarray, tree, path: str | Path,
                           levels: tuple[float, ...] = (0.1, 0.3, 0.5)) -> None:
    """Save a panel: the image, its UCM, and the segmentations at a few levels.

    Parameters
    ----------
    image : ndarray, (H, W, 3) uint8 RGB
    tree : grouping.hierarchy.MergeTree
        Hierarchy of ``image``.
    path : str, Path or binary file object
        Output PNG.
    levels : tuple of float
        UCM thresholds of the segmentations shown (mean colour per region).
    """
    from matplotlib.figure import Figure

    panels = [("image", image), ("UCM", tree.to_ucm())]
    for level in levels:
        labels = tree.segmentation_at(level)
        n_regions = int(labels.max()) + 1
        counts = np.bincount(labels.ravel(), minlength=n_regions)[:, None]
        sums = np.stack([np.bincount(labels.ravel(), image[..., c].ravel().astype(np.float64),
                                     minlength=n_regions) for c in range(3)], axis=1)
        means = (sums / np.maximum(counts, 1)).astype(np.uint8)
        panels.append((f"t = {level:g}: {n_regions} regions", means[labels]))
    figure = Figure(figsize=(3.2 * len(panels), 3.6))
    axes = figure.subplots(1, len(panels))
    for axis, (title, picture) in zip(axes, panels):
        axis.imshow(picture, cmap="gray_r" if picture.ndim == 2 else None)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")


def save_proposals_picture(image: np.ndarray, proposals, path: str | Path, top_k: int = 12) -> None:
    """Save a grid of the best-ranked proposals drawn over the image.

    Parameters
    ----------
    image : ndarray, (H, W, 3) uint8 RGB
    proposals : grouping.proposal_format.Proposals
        Proposals of ``image`` in rank order.
    path : str, Path or binary file object
        Output PNG.
    top_k : int
        Number of proposals shown (rank, score and box in each panel).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    count = min(top_k, proposals.n_proposals)
    columns = 4
    rows = max(1, -(-count // columns))
    figure = Figure(figsize=(3.2 * columns, 2.8 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    dimmed = (image * 0.35).astype(np.uint8)
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index >= count:
            continue
        mask = proposals.mask(index)
        picture = dimmed.copy()
        picture[mask] = image[mask]
        axis.imshow(picture)
        x0, y0, x1, y1 = proposals.boxes[index]
        axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                     edgecolor="yellow", linewidth=1.2))
        axis.set_title(f"#{index + 1}  score {proposals.scores[index]:.3f}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
