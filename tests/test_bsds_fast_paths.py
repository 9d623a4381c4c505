"""The benchmark's fast kernels give exactly what the plain formulations give.

Thinning against scikit-image's ``thin`` (the ``bwmorph`` algorithm), the prepared matcher
against per-human ``correspond_pixels``, the assignment kernel against a plain
shortest-augmenting-path solver with the same (distance, column) order (same solution among
equal-cost optima, not only the same cost), the incremental ucm2 segmenter against
``ndimage.label``, the joint histogram against ``np.bincount``.
"""
from __future__ import annotations

import heapq

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import thin

from eval.bsds import (_UcmSegmenter, _label_counts, _segment_ucm, evaluate_boundaries_image,
                       thin_boundaries)
from eval.bsds_matching import BoundaryMatcher, _min_cost_assign, correspond_pixels


def _random_maps(rng, count):
    for k in range(count):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        m = rng.random((h, w)) < rng.random()
        if k % 3 == 0:
            m = ndimage.binary_dilation(m, iterations=2)
        yield m


def test_thinning_equals_skimage_thin():
    rng = np.random.default_rng(0)
    for m in _random_maps(rng, 200):
        np.testing.assert_array_equal(thin_boundaries(m), thin(m))
    blob = np.zeros((40, 40), bool)
    blob[5:30, 8:20] = True
    out = thin_boundaries(blob)
    assert out.dtype == bool and 0 < out.sum() < 40
    np.testing.assert_array_equal(out, thin(blob))


def test_thinning_rejects_non_2d():
    with pytest.raises(ValueError, match="2-D"):
        thin_boundaries(np.ones((3, 3, 3)))


def _sap_reference(indptr, adj, cost, ns, nl, ow):
    """Plain shortest augmenting paths: Dijkstra by (reduced distance, column), no shortcut."""
    nc = nl + ns
    v = [0] * nc
    row_of_col = [-1] * nc
    col_of_row = [-1] * ns
    mcost = [0] * ns

    def edges(i):
        out = [(int(adj[e]), int(cost[e])) for e in range(indptr[i], indptr[i + 1])]
        return out + [(nl + i, ow)]

    for i0 in range(ns):
        dist, pred, done = {}, {}, set()
        heap = []
        for j, c in edges(i0):
            if j not in dist or c - v[j] < dist[j]:
                dist[j] = c - v[j]
                pred[j] = (i0, c)
                heapq.heappush(heap, (dist[j], j))
        scanned = []
        while True:
            d, j = heapq.heappop(heap)
            if j in done or d > dist[j]:
                continue
            done.add(j)
            scanned.append(j)
            if row_of_col[j] == -1:
                end, mu = j, d
                break
            i = row_of_col[j]
            ui = mcost[i] - v[j]
            for j2, c in edges(i):
                if j2 in done:
                    continue
                nd = d + c - v[j2] - ui
                if j2 not in dist or nd < dist[j2]:
                    dist[j2] = nd
                    pred[j2] = (i, c)
                    heapq.heappush(heap, (nd, j2))
        for j in scanned:
            v[j] += dist[j] - mu
        j = end
        while True:
            i, c = pred[j]
            jprev = col_of_row[i]
            row_of_col[j] = i
            col_of_row[i] = j
            mcost[i] = c
            if i == i0:
                break
            j = jprev
    return np.array(col_of_row)


def test_assignment_kernel_picks_the_reference_solution_among_ties():
    rng = np.random.default_rng(3)
    for trial in range(300):
        ns = int(rng.integers(1, 30))
        nl = int(rng.integers(1, 40))
        keys = np.unique(rng.integers(0, ns, 4 * ns) * 1000 + rng.integers(0, nl, 4 * ns))
        rows, cols = keys // 1000, keys % 1000
        cost = rng.integers(0, 4, rows.size)          # few distinct costs: many ties
        ow = int(rng.choice([3, 5, 100]))
        indptr = np.searchsorted(rows, np.arange(ns + 1)).astype(np.int64)
        args = (indptr, cols.astype(np.int64), cost.astype(np.int64), ns, nl, ow)
        np.testing.assert_array_equal(_min_cost_assign(*args), _sap_reference(*args),
                                      err_msg=f"trial {trial}")


def test_prepared_matcher_equals_correspond_pixels():
    rng = np.random.default_rng(5)
    h, w = 60, 80
    humans = [rng.random((h, w)) < 0.05 for _ in range(3)]
    matcher = BoundaryMatcher(humans, 0.03)
    assert matcher.human_totals == [float(g.sum()) for g in humans]
    for density in (0.0, 0.01, 0.05, 0.2):
        machine = rng.random((h, w)) < density
        union = np.zeros((h, w), bool)
        recall = 0.0
        for g in humans:
            m1, m2 = correspond_pixels(machine, g, 0.03)
            union |= m1
            recall += float(m2.sum())
        assert matcher.counts(machine) == (recall, float(machine.sum()), float(union.sum()))


def test_prepared_matcher_rejects_bad_sizes():
    with pytest.raises(ValueError, match="same size"):
        BoundaryMatcher([np.zeros((4, 5)), np.zeros((5, 4))])
    with pytest.raises(ValueError, match="no ground-truth"):
        BoundaryMatcher([])
    with pytest.raises(ValueError, match="machine map"):
        BoundaryMatcher([np.zeros((4, 5))]).counts(np.zeros((5, 4)))


def test_boundary_counts_match_a_plain_loop():
    """evaluate_boundaries_image = threshold, skimage thin, correspond_pixels per human."""
    rng = np.random.default_rng(9)
    h, w = 50, 70
    pb = ndimage.gaussian_filter(rng.random((h, w)), 2)
    pb = (pb - pb.min()) / (pb.max() - pb.min())
    humans = [thin(pb > q) for q in (0.6, 0.7)]
    counts = evaluate_boundaries_image(pb, humans, nthresh=9, max_dist=0.02)
    for k, t in enumerate(counts.thresholds):
        bmap = thin(pb >= t)
        union = np.zeros((h, w), bool)
        recall = 0.0
        for g in humans:
            m1, m2 = correspond_pixels(bmap, g, 0.02)
            union |= m1
            recall += m2.sum()
        assert counts.cnt_r[k] == recall and counts.sum_p[k] == bmap.sum()
        assert counts.cnt_p[k] == union.sum()


def test_ucm_segmenter_equals_ndimage_label():
    rng = np.random.default_rng(11)
    for k in range(300):
        h, w = (int(v) for v in rng.integers(1, 10, 2))
        ucm2 = rng.integers(0, 5, (2 * h + 1, 2 * w + 1)).astype(np.float64) / 4
        if k % 3:
            ucm2[1::2, 1::2] = 0        # a hierarchy: pixels always inside a region
        segmenter = _UcmSegmenter(ucm2)
        for t in rng.permutation(np.linspace(-0.1, 1.1, 9)):   # also decreasing thresholds
            np.testing.assert_array_equal(segmenter.segment(t), _segment_ucm(ucm2, t))


def test_ucm_segmenter_numbers_regions_opened_on_the_top_row_first():
    # the region opened through the top border row comes first in bwlabel's scan order
    ucm2 = np.ones((5, 9))
    ucm2[1::2, 1::2] = 0
    ucm2[0, 6] = 0                  # top border cell between pixels (0, 2) and (0, 3)
    ucm2[1, 6] = 0                  # and the cell joining them
    labels = _UcmSegmenter(ucm2).segment(0.5)
    np.testing.assert_array_equal(labels, _segment_ucm(ucm2, 0.5))
    assert labels[0, 2] == labels[0, 3] == 1 and labels[0, 0] == 2


def test_joint_counts_equal_bincount():
    rng = np.random.default_rng(2)
    seg = rng.integers(0, 7, (30, 40))
    gt = rng.integers(0, 4, (30, 40))
    ref = np.bincount((gt * 7 + seg).ravel(), minlength=4 * 7).reshape(4, 7)
    np.testing.assert_array_equal(_label_counts(seg, gt, 6, 3), ref)


def test_real_hierarchies_give_the_plain_computation_counts(monkeypatch):
    """On published gPb-owt-ucm hierarchies of BSDS val: the benchmark's counts equal those
    of the plain computation (scikit-image thin, correspond_pixels per human, ndimage.label
    at every threshold), bit for bit."""
    import eval.bsds as bsds
    from eval.bsds_io import load_ground_truth, load_result
    from tests.conftest import shared_path

    results = shared_path("bsds500", "gpb_ucm2", "val")
    gt_dir = shared_path("bsds500", "groundTruth", "val")
    for iid in sorted(p.stem for p in gt_dir.glob("*.mat"))[:1]:
        gt = load_ground_truth(gt_dir / f"{iid}.mat")
        res = load_result(results / f"{iid}.mat", gt.shape)
        fast = (bsds.evaluate_boundaries_image(res, gt.boundaries, nthresh=12),
                bsds.evaluate_regions_image(res, gt.segmentations, nthresh=12))

        def plain_counts(self, bmap):
            union = np.zeros(bmap.shape, bool)
            recall = 0.0
            for g in gts:
                m1, m2 = correspond_pixels(bmap, g, 0.0075)
                union |= m1
                recall += float(m2.sum())
            return recall, float(bmap.sum()), float(union.sum())

        gts = gt.boundaries
        with monkeypatch.context() as m:
            m.setattr(bsds, "thin_boundaries", thin)
            m.setattr(BoundaryMatcher, "counts", plain_counts)
            m.setattr(bsds._UcmSegmenter, "segment",
                      lambda self, t: _segment_ucm(self.ucm2, t))
            plain = (bsds.evaluate_boundaries_image(res, gt.boundaries, nthresh=12),
                     bsds.evaluate_regions_image(res, gt.segmentations, nthresh=12))
        for a, b in zip(fast, plain):
            for name, value in vars(a).items():
                np.testing.assert_array_equal(value, getattr(b, name), err_msg=f"{iid} {name}")
        assert fast[0].cnt_p.max() > 0 and fast[1].cnt_r.max() > 0


def test_prepared_edge_lists_equal_probing_every_offset():
    """The matcher's edges, gathered from a human's prepared reach lists, are the arrays
    _csr_edges builds by probing every offset around every machine pixel."""
    from eval.bsds_matching import (_PixelSet, _csr_edges, _gather_edges, _offset_costs,
                                    _reach_lists)

    rng = np.random.default_rng(8)
    h, w = 40, 50
    off_y, off_x = BoundaryMatcher([np.zeros((h, w))], 0.05).offsets   # 3.2 px: 37 offsets
    cost = _offset_costs(off_y, off_x)
    for density in (0.02, 0.1, 0.3):
        human = _PixelSet(rng.random((h, w)) < 0.08)
        machine = _PixelSet(rng.random((h, w)) < density)
        reach = _reach_lists(human.ys, human.xs, h, w, off_y, off_x, cost)
        ref = _csr_edges(machine.ys, machine.xs, human.nodes, off_y, off_x, cost)
        got = _gather_edges(machine.ys, machine.xs, w, *reach)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a, b)
        assert ref[1].size > 0


def test_matcher_without_reach_lists_gives_the_same_counts(monkeypatch):
    """Beyond the size cap the matcher probes the offsets instead: same counts."""
    import eval.bsds_matching as matching

    rng = np.random.default_rng(4)
    humans = [rng.random((40, 60)) < 0.06 for _ in range(2)]
    machine = rng.random((40, 60)) < 0.04
    with_lists = BoundaryMatcher(humans, 0.04)
    monkeypatch.setattr(matching, "_REACH_MAX_ENTRIES", 0)
    without = BoundaryMatcher(humans, 0.04)
    assert all(r is None for r in without.reach) and all(r is not None for r in with_lists.reach)
    assert without.counts(machine) == with_lists.counts(machine)
    assert with_lists.counts(machine)[2] > 0
