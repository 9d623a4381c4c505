"""Tests of grouping.candidates: candidate lists, base partition, leaf sets."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from grouping.candidates import (candidates_from_trees, default_n_cands, intersect_partitions,
                                 tree_candidate_lists)
from grouping.hierarchy import MergeTree, leaf_adjacency

# 0 1 / 2 3 quadrants; merges 0+1 -> 4 (h=1), 2+3 -> 5 (h=2), 4+5 -> 6 (h=3).
QUAD = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])


def quad_tree():
    return MergeTree(QUAD, [[0, 1], [2, 3], [4, 5]], [1.0, 2.0, 3.0])


def random_tree(seed, h=6, w=7, n=9):
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, [h, w], size=(n, 2))
    yy, xx = np.mgrid[:h, :w]
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    lab = np.argmin(d + 0.01 * np.arange(n), axis=2)
    from scipy import ndimage
    out = np.zeros_like(lab)
    nxt = 0
    for v in np.unique(lab):
        cc, k = ndimage.label(lab == v)
        for c in range(1, k + 1):
            out[cc == c] = nxt
            nxt += 1
    _, first = np.unique(out.ravel(), return_index=True)
    remap = np.empty(nxt, dtype=np.int64)
    remap[np.argsort(np.argsort(first))] = np.arange(nxt)
    out = remap[out]
    u, v = leaf_adjacency(out)
    return MergeTree.from_leaf_graph(out, u, v, rng.uniform(0.1, 1.0, len(u)))


def test_quad_tree_lists_known_answer():
    tc = tree_candidate_lists(quad_tree(), [10, 10, 10, 10])
    assert tc.regions[0][:, 0].tolist() == [6, 4, 5, 2, 3, 0, 1]
    assert tc.steps[0].tolist() == [0, 1, 1, 2, 2, 3, 3]
    assert tc.regions[1].tolist() == [[2, 4], [3, 4], [0, 2], [1, 3]]
    assert tc.steps[1].tolist() == [2, 2, 3, 3]
    assert sorted(map(sorted, tc.regions[2].tolist())) == [[0, 2, 3], [1, 2, 3]]
    assert len(tc.regions[3]) == 0


def test_caps_truncate_lists_in_order():
    full = tree_candidate_lists(quad_tree(), [10, 10, 10, 10])
    cut = tree_candidate_lists(quad_tree(), [3, 1, 0, 5])
    assert cut.regions[0][:, 0].tolist() == [6, 4, 5]
    assert cut.regions[1].tolist() == full.regions[1][:1].tolist()
    assert len(cut.regions[2]) == 0


def _brute_force(tree):
    """Every connected set of 1..4 regions of every partition, as frozensets of leaves."""
    order, begin, end = tree.leaf_ranges()
    leaves_of = [frozenset(order[b:e].tolist()) for b, e in zip(begin, end)]
    u, v = leaf_adjacency(tree.leaves)
    adj = set(zip(u.tolist(), v.tolist()))
    parents = tree.parents
    found = [set() for _ in range(4)]
    n_l = tree.n_leaves
    for applied in range(tree.n_merges, -1, -1):
        regs = [r for r in range(n_l + applied) if parents[r] < 0 or parents[r] >= n_l + applied]

        def touch(a, b):
            return any((min(x, y), max(x, y)) in adj for x in leaves_of[a] for y in leaves_of[b])

        for s in range(1, 5):
            for combo in itertools.combinations(regs, s):
                seen = {combo[0]}
                frontier = [combo[0]]
                while frontier:
                    x = frontier.pop()
                    for y in combo:
                        if y not in seen and touch(x, y):
                            seen.add(y)
                            frontier.append(y)
                if len(seen) == s:
                    found[s - 1].add(frozenset(combo))
    return found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lists_are_all_connected_tuples_once(seed):
    tree = random_tree(seed)
    tc = tree_candidate_lists(tree, [10 ** 5] * 4)
    expected = _brute_force(tree)
    for s in range(4):
        got = [frozenset(r.tolist()) for r in tc.regions[s]]
        assert len(got) == len(set(got)), "a tuple is listed twice"
        # The brute force also lists tuples containing two siblings (same mask as a smaller
        # tuple of a higher partition); compare masks.
        order, begin, end = tree.leaf_ranges()
        def mask(regs):
            return frozenset(x for r in regs for x in order[begin[r]:end[r]].tolist())
        assert set(got) <= expected[s]
    all_masks = {frozenset(x for r in regs for x in tree.leaf_ranges()[0][
        tree.leaf_ranges()[1][r]:tree.leaf_ranges()[2][r]].tolist())
        for s in range(4) for regs in expected[s]}
    got_masks = set()
    order, begin, end = tree.leaf_ranges()
    for s in range(4):
        for regs in tc.regions[s]:
            got_masks.add(frozenset(x for r in regs for x in order[begin[r]:end[r]].tolist()))
    assert got_masks == all_masks
    # Lists are ordered by decreasing min end threshold of their regions.
    end_th = tree.end_ths
    for s in range(4):
        if len(tc.regions[s]):
            lvl = end_th[tc.regions[s]].min(axis=1)
            assert np.all(np.diff(lvl) <= 1e-12)


def test_intersect_partitions_known():
    a = np.array([[0, 0, 1], [0, 0, 1]])
    b = np.array([[0, 1, 1], [0, 1, 1]])
    base, lut = intersect_partitions([a, b])
    assert base.tolist() == [[0, 1, 2], [0, 1, 2]]
    assert lut.tolist() == [[0, 0, 1], [0, 1, 1]]


def test_union_masks_equal_or_of_leaf_masks():
    t1 = random_tree(3)
    t2 = random_tree(4)
    cs = candidates_from_trees([t1, t2], np.full((4, 2), 50))
    assert len(cs) > 50
    trees = [t1, t2]
    for i in range(len(cs)):
        tree = trees[cs.tree[i]]
        order, begin, end = tree.leaf_ranges()
        expected = np.zeros(tree.shape, dtype=bool)
        for r in cs.regions[i]:
            if r >= 0:
                expected |= np.isin(tree.leaves, order[begin[r]:end[r]])
        assert np.array_equal(cs.mask(i), expected)
        # ranges agree with the leaf list
        lv = np.concatenate([cs.leaf_order[cs.tree[i]][lo:hi]
                             for lo, hi in zip(cs.range_lo[i], cs.range_hi[i])])
        assert sorted(lv.tolist()) == cs.leaves(i).tolist()
    idx, off = cs.leaf_csr()
    assert off[-1] == sum(len(cs.leaves(i)) for i in range(len(cs)))


def test_deterministic():
    t1, t2 = random_tree(5), random_tree(6)
    a = candidates_from_trees([t1, t2], np.full((4, 2), 30))
    b = candidates_from_trees([t1, t2], np.full((4, 2), 30))
    assert np.array_equal(a.leaf_csr()[0], b.leaf_csr()[0])
    assert np.array_equal(a.regions, b.regions)
    assert np.array_equal(a.superpixels, b.superpixels)


def test_one_region_tree():
    tree = MergeTree(np.zeros((3, 4), dtype=np.int32), np.zeros((0, 2), dtype=np.int32), [])
    cs = candidates_from_trees([tree], default_n_cands(1))
    assert len(cs) == 1 and cs.mask(0).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_cands"):
        candidates_from_trees([quad_tree()], np.ones((3, 1)))
    with pytest.raises(ValueError, match="shape"):
        candidates_from_trees([quad_tree(), random_tree(0)], np.ones((4, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        tree_candidate_lists(quad_tree(), [1, -1, 0, 0])


@pytest.mark.parametrize("shape, n_labels", [((1, 1), 1), ((1, 9), 3), ((23, 17), 40)])
def test_leaf_graph_counts_every_pixel_pair(shape, n_labels):
    from grouping.candidates import _leaf_graph
    from grouping.hierarchy import adjacent_label_pairs

    rng = np.random.default_rng(n_labels)
    leaves = rng.integers(0, n_labels, size=shape)
    leaves[0, 0] = n_labels - 1  # every label up to the largest may appear
    ptr, nbr, count = _leaf_graph(leaves)
    # reference: every 4-adjacent pixel pair with different labels, seen from both sides
    a, b = adjacent_label_pairs(leaves.astype(np.int64))
    pairs, multiplicity = np.unique(np.stack([np.r_[a, b], np.r_[b, a]], axis=1), axis=0,
                                    return_counts=True)
    n = int(leaves.max()) + 1
    assert ptr.shape == (n + 1,) and ptr[0] == 0 and ptr[-1] == len(pairs)
    np.testing.assert_array_equal(np.repeat(np.arange(n), np.diff(ptr)), pairs[:, 0])
    np.testing.assert_array_equal(nbr, pairs[:, 1])
    np.testing.assert_array_equal(count, multiplicity)
    assert nbr.dtype == np.int64 and count.dtype == np.int64
