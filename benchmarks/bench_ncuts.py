"""Benchmark of the ncuts layer on a 481x321 image: per-stage times, DNCuts vs exact solver.

Usage: python benchmarks/bench_ncuts.py [--image ID] [--reps N] [--no-exact]

The boundary map is a stand-in for the OWT map: the published gPb-owt-ucm ``ucm2`` of a BSDS500
val image (../shared/data/bsds500/gpb_ucm2/val/<ID>.mat), or, if absent, a Sobel gradient of a
synthetic image placed on the double grid. Times are the minimum over ``--reps`` runs after a
warm-up run (Numba compilation), wall clock and process CPU time.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import scipy.io
import scipy.linalg

from ncuts import dncuts, exact_ncuts, globalize, intervening_contour_affinity, spectral_boundaries

SHARED = Path(os.environ.get("MCG_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def load_map(image_id: str) -> tuple[np.ndarray, str]:
    path = SHARED / "bsds500" / "gpb_ucm2" / "val" / f"{image_id}.mat"
    if path.exists():
        return scipy.io.loadmat(str(path))["ucm2"].astype(np.float64), f"gpb ucm2 {path.name}"
    rng = np.random.default_rng(0)
    img = np.zeros((321, 481))
    yy, xx = np.mgrid[:321, :481]
    img[(xx - 240) ** 2 + (yy - 160) ** 2 < 90**2] = 1.0
    img[:, 400:] += 0.5
    img += 0.02 * rng.standard_normal(img.shape)
    owt2 = np.zeros((2 * 321 + 1, 2 * 481 + 1))
    owt2[2:-1:2, 1::2] = np.abs(np.diff(img, axis=0, append=img[-1:]))[:, :]
    owt2[1::2, 2:-1:2] = np.abs(np.diff(img, axis=1, append=img[:, -1:]))[:, :]
    return np.clip(owt2, 0, 1), "synthetic sobel-like map"


def timed(fn, reps: int):
    fn()  # warm-up
    best_wall = best_cpu = np.inf
    out = None
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return out, best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="101085")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-exact", action="store_true", help="skip the (slow) exact solver")
    args = parser.parse_args()
    owt2, source = load_map(args.image)
    shape = ((owt2.shape[0] - 1) // 2, (owt2.shape[1] - 1) // 2)
    print(f"map: {source}, owt2 {owt2.shape}, image {shape[0]}x{shape[1]}, load avg {os.getloadavg()[0]:.2f}")

    W, tw, cw = timed(lambda: intervening_contour_affinity(owt2), args.reps)
    print(f"affinity           wall {tw:.3f} s  cpu {cw:.3f} s  (nnz {W.nnz})")
    (vals, vecs), td, cd = timed(lambda: dncuts(W, shape), args.reps)
    print(f"dncuts             wall {td:.3f} s  cpu {cd:.3f} s  eigenvalues {np.array2string(vals, precision=3)}")
    spec, ts, cs = timed(lambda: spectral_boundaries(vecs, vals, shape), args.reps)
    print(f"spectral           wall {ts:.3f} s  cpu {cs:.3f} s")
    _, tg, cg = timed(lambda: globalize(owt2), args.reps)
    print(f"globalize (dncuts) wall {tg:.3f} s  cpu {cg:.3f} s")
    if args.no_exact:
        return
    (evals, evecs), te, ce = timed(lambda: exact_ncuts(W), 1)
    print(f"exact ncuts        wall {te:.3f} s  cpu {ce:.3f} s  eigenvalues {np.array2string(evals, precision=3)}")
    print(f"  exact * 2^levels {np.array2string(evals * 4, precision=3)}")
    print(f"speed-up DNCuts vs exact (eigen stage): wall {te / td:.1f}x  cpu {ce / cd:.1f}x")
    centred = evecs - evecs.mean(axis=0)
    for j in range(1, vals.size):
        angle = np.degrees(scipy.linalg.subspace_angles(centred[:, 1 : j + 1], vecs[:, 1 : j + 1]).max())
        print(f"  largest principal angle, first {j} non-trivial vectors: {angle:.2f} deg")
    spec_exact = spectral_boundaries(evecs, evals * 4, shape)
    arcs = owt2 > 0
    corr = np.corrcoef(spec[arcs], spec_exact[arcs])[0, 1]
    print(f"  spectral map on OWT arcs: corr(dncuts, exact) {corr:.4f}, "
          f"mean ratio {spec[arcs].mean() / spec_exact[arcs].mean():.3f}")


if __name__ == "__main__":
    main()
