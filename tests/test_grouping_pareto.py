"""Tests of grouping.pareto: fronts, pairwise combination, working points."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from grouping.pareto import (Front, WorkingPoints, combine_fronts, learn_working_points,
                             list_best_jaccards, pareto_front, sample_front)
from tests.test_grouping_candidates import quad_tree


def test_pareto_front_known():
    cost = np.array([1, 2, 2, 3, 4, 5])
    qual = np.array([0.1, 0.5, 0.3, 0.5, 0.7, 0.6])
    assert pareto_front(cost, qual).tolist() == [0, 1, 4]


def _list(best_per_n, counts, list_id, n_lists):
    """A list front from per-object best J (G, K) at counts (G,)."""
    c = np.zeros((len(counts), n_lists), dtype=np.int64)
    c[:, list_id] = counts
    best = np.asarray(best_per_n, dtype=np.float32)
    return Front(np.asarray(counts, float), best.mean(axis=1).astype(float), best, c)


def test_combine_two_lists_matches_brute_force():
    rng = np.random.default_rng(0)
    k = 40
    counts = np.array([10, 20, 50, 100])
    fa = np.sort(rng.uniform(0, 1, (4, k)), axis=0)
    fb = np.sort(rng.uniform(0, 1, (4, k)), axis=0)
    a = _list(fa, counts, 0, 2)
    b = _list(fb, counts * 2, 1, 2)
    got = combine_fronts(a, b, n_samples=1000)
    # brute force over all (i, j) including "none"
    pts = []
    for i, j in itertools.product(range(5), range(5)):
        if i == 0 and j == 0:
            continue
        ja = fa[i - 1] if i else np.zeros(k)
        jb = fb[j - 1] if j else np.zeros(k)
        pts.append(((counts[i - 1] if i else 0) + (2 * counts[j - 1] if j else 0),
                    np.maximum(ja, jb).mean()))
    cost = np.array([p[0] for p in pts], float)
    qual = np.array([p[1] for p in pts])
    keep = pareto_front(cost, qual)
    assert np.allclose(got.mean_n, cost[keep])
    assert np.allclose(got.quality, qual[keep], atol=1e-6)
    # the counts reproduce the cost
    assert np.allclose(got.counts[:, 0] + got.counts[:, 1], got.mean_n)


def test_known_optimum_disjoint_objects():
    # Three lists each covering its own 10 objects; quality is additive: with budget 60 the
    # optimum takes list 0 at 20 (J=1 for its objects) plus list 2 at 40, not list 1.
    k = 30
    grid = np.array([20, 40])

    def stats(lst, q20, q40):
        best = np.zeros((2, k))
        best[0, lst * 10:(lst + 1) * 10] = q20
        best[1, lst * 10:(lst + 1) * 10] = q40
        return best

    best = np.stack([stats(0, 1.0, 1.0), stats(1, 0.1, 0.2), stats(2, 0.3, 0.9)])
    # learn_working_points expects 4*T lists: put them as T=1 sizes 1..3 and an empty 4th
    all_best = np.concatenate([best, np.zeros((1, 2, k))]).transpose(0, 2, 1)
    mean_n = np.tile(grid.astype(float), (4, 1))
    wp = learn_working_points(all_best.astype(np.float32), mean_n, 1, grid, n_samples=100)
    pick = wp.n_cands_for(60)
    assert pick[:, 0].tolist() == [20, 0, 40, 0]
    assert wp.quality.max() == pytest.approx((10 * 1.0 + 10 * 0.2 + 10 * 0.9) / 30)


def test_sample_front_keeps_ends():
    n = np.arange(1, 101, dtype=float)
    f = Front(n, n / 100, np.zeros((100, 1), np.float32), np.zeros((100, 1), np.int64))
    s = sample_front(f, 30)
    assert len(s.mean_n) == 30 and s.mean_n[0] == 1 and s.mean_n[-1] == 100
    assert np.all(np.diff(s.mean_n) > 0)


def test_list_best_jaccards_quad():
    tree = quad_tree()
    gt = np.zeros((1, 4, 4), dtype=bool)
    gt[0, :2, :] = True  # the top half = region 4, second singleton, first pair? no: a singleton
    best, n_masks = list_best_jaccards(tree, gt, np.array([1, 2, 10]))
    assert best[0, 0].tolist() == [0.5, 1.0, 1.0]  # root J=0.5, then region 4
    assert n_masks[0].tolist() == [1, 2, 7]
    assert n_masks[1].tolist() == [1, 2, 4]


def test_working_points_roundtrip(tmp_path):
    wp = WorkingPoints(np.array([10.0, 100.0]), np.array([0.3, 0.6]),
                       np.arange(16).reshape(2, 4, 2))
    wp2 = WorkingPoints.load(wp.save(tmp_path / "wp.npz"))
    assert np.array_equal(wp2.n_cands_for(50), wp.n_cands[0])
    assert np.array_equal(wp2.n_cands_for(1000), wp.n_cands[1])
    assert np.array_equal(wp2.n_cands_for(1), wp.n_cands[0])
    with pytest.raises(FileNotFoundError):
        WorkingPoints.load(tmp_path / "none.npz")
