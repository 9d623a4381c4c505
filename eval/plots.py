"""Precision-recall plot of the BSDS boundary benchmark (a matplotlib ``Figure``: no pyplot,
the process's backend is left alone)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np


def plot_pr_curve(evaluations, path: str | os.PathLike, labels: Sequence[str] | None = None,
                  title: str = "BSDS500 boundary benchmark") -> Path:
    """Save a precision-recall plot with iso-F curves.

    Parameters
    ----------
    evaluations : BoundaryEvaluation or sequence of them
        Objects with ``recall``, ``precision`` (n,) arrays and the ODS/OIS fields
        (see :class:`eval.bsds.BoundaryEvaluation`).
    path : path-like
        Output PNG.
    labels : sequence of str, optional
        Legend names, one per evaluation.
    title : str

    Returns
    -------
    Path of the written file.
    """
    from matplotlib.figure import Figure

    if not isinstance(evaluations, (list, tuple)):
        evaluations = [evaluations]
    if labels is None:
        labels = ["result"] * len(evaluations) if len(evaluations) > 1 else ["result"]
    fig = Figure(figsize=(6, 6), dpi=100)
    ax = fig.add_subplot()
    # iso-F curves
    for f in np.arange(0.1, 1.0, 0.1):
        r = np.linspace(f / (2 - f), 1, 300)        # from P = 1 to R = 1
        p = f * r / (2 * r - f)
        ok = (p > 0) & (p <= 1 + 1e-9)
        ax.plot(r[ok], p[ok], color="0.8", lw=0.8, zorder=0)
        k = np.flatnonzero(ok)
        if k.size:
            ax.text(r[k[-1]] - 0.02, p[k[-1]] + 0.005, f"{f:.1f}", color="0.6", fontsize=7,
                    ha="right")
    for ev, label in zip(evaluations, labels):
        rec = np.asarray(ev.recall)
        prec = np.asarray(ev.precision)
        ok = (rec > 0) | (prec > 0)
        line, = ax.plot(rec[ok], prec[ok], lw=2,
                        label=f"{label} [ODS={ev.ods_f:.3f} OIS={ev.ois_f:.3f} AP={ev.ap:.3f}]")
        ax.plot([ev.ods_recall], [ev.ods_precision], "o", color=line.get_color(), ms=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.grid(True, color="0.9", lw=0.5)
    ax.legend(loc="lower left", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path
