"""Combinatorial grouping: candidates made of 1 to 4 regions of several hierarchies.

MCG (Pont-Tuset et al., TPAMI 2016, section 5) builds object candidates from each hierarchy
as *singletons, pairs, triplets and 4-tuples* of regions that exist together in one
partition of the hierarchy, ranks each of these lists by the strength (UCM threshold) at
which the regions exist, takes the first ``N_{s,h}`` of each list (``s`` regions, hierarchy
``h``; learned by :mod:`grouping.pareto`), and expresses all of them on one base partition:
the intersection of the leaf partitions of the hierarchies.

Candidate lists of one hierarchy (:func:`tree_candidate_lists`)
---------------------------------------------------------------
The merge tree is swept *top-down*: step 0 is the whole image (the root); step ``j`` undoes
the merge ``k = M - j`` (the ``j``-th highest), splitting region ``L + k`` into its two
children ``a, b``. Before step ``j``'s split the partition ``C`` holds ``j`` regions; after it
``j + 1``. The candidates *discovered* at step ``j`` are

* singletons: the two children ``a`` and ``b`` (the root at step 0);
* ``s``-tuples, ``s = 2, 3, 4``: every set of ``s`` regions of the new partition that is
  connected in its region adjacency graph (4-connectivity of pixels) and contains exactly
  one of ``a`` and ``b``.

A tuple containing both ``a`` and ``b`` is the same mask as a smaller tuple of the previous
partition (with their parent), and a tuple containing neither existed before, so every
connected set of regions of every partition is listed exactly once, at the highest
threshold at which all its regions coexist. Each list is therefore ordered by decreasing
``min(end_ths)`` of its regions ("ranked by the UCM strength at which its regions exist");
inside one step the order is deterministic: root ``a`` before ``b``, then a depth-first
enumeration (ESU, Wernicke 2006) over the adjacency lists in the order regions appeared.
The sweep stops as soon as every list holds the requested number of candidates.

(The public MCG code forms tuples from the new regions and their neighbours in the merge
graph, so a "pair" there may join a region with an already-split ancestor of several
current regions; here every tuple is made of regions of one partition, and its size is the
number of those regions. Singletons here follow the same top-down order; MCG's release takes
the last-created regions. Trees are binary: a k-way merge of MCG's ``ucm2hier`` is a chain of
zero-lifetime binary merges in :class:`grouping.hierarchy.MergeTree`, which gives the same
masks.)

Base partition (:func:`candidates_from_trees`)
----------------------------------------------
As in MCG's pruning to needed regions, each tree's leaf partition is first coarsened to
the coarsest partition on which every region used by a candidate is a union of pieces
(a tree leaf's piece is its lowest used ancestor); the base partition is the intersection
(pixel-wise label tuple) of these pieces over all trees, numbered in raster order of first
pixels. Base leaves need not be connected. In the depth-first leaf order of tree ``t``
(:meth:`MergeTree.leaf_ranges`) every used region is a contiguous range of base leaves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numba import njit

from grouping.codes import first_occurrence_codes
from grouping.hierarchy import MergeTree

__all__ = [
    "MAX_REGIONS",
    "TreeCandidates",
    "CandidateSet",
    "tree_candidate_lists",
    "intersect_partitions",
    "candidates_from_trees",
    "default_n_cands",
]

MAX_REGIONS = 4
"""Largest number of regions per candidate (singletons .. 4-tuples)."""


# ----------------------------------------------------------------------------------------
# Numba kernels: top-down region adjacency graph and rooted connected-set enumeration
# ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _nb_append(node, other, count, nb_start, nb_len, nb_cap, pool_id, pool_cnt, pool_end,
               active):
    """Append (other, count) to node's adjacency list; returns the new pool arrays/end."""
    if nb_len[node] == nb_cap[node]:
        # Relocate to the end of the pool, dropping stale (inactive) entries.
        n_act = 0
        s = nb_start[node]
        for i in range(nb_len[node]):
            if active[pool_id[s + i]]:
                n_act += 1
        cap = 2 * n_act + 4
        if pool_end + cap > pool_id.shape[0]:
            new_size = max(2 * pool_id.shape[0], pool_end + cap)
            new_id = np.empty(new_size, dtype=np.int64)
            new_cnt = np.empty(new_size, dtype=np.int64)
            new_id[:pool_end] = pool_id[:pool_end]
            new_cnt[:pool_end] = pool_cnt[:pool_end]
            pool_id = new_id
            pool_cnt = new_cnt
        w = pool_end
        for i in range(nb_len[node]):
            x = pool_id[s + i]
            if active[x]:
                pool_id[w] = x
                pool_cnt[w] = pool_cnt[s + i]
                w += 1
        nb_start[node] = pool_end
        nb_len[node] = n_act
        nb_cap[node] = cap
        pool_end += cap
    p = nb_start[node] + nb_len[node]
    pool_id[p] = other
    pool_cnt[p] = count
    nb_len[node] += 1
    return pool_id, pool_cnt, pool_end


@njit(cache=True, nogil=True)
def _emit(out, n_out, cap, regs, n_regs, step, steps):
    if n_out < cap:
        for i in range(n_regs):
            out[n_out, i] = regs[i]
        steps[n_out] = step
        n_out += 1
    return n_out


@njit(cache=True, nogil=True)
def _enumerate_rooted(root, forbidden, step, nb_start, nb_len, pool_id, active, mark,
                      ext1, ext2, ext3, out2, out3, out4, n_out, caps, steps2, steps3, steps4):
    """Connected sets of 2..4 active regions containing ``root`` and not ``forbidden``.

    ESU enumeration rooted at ``root`` on the active adjacency graph minus ``forbidden``:
    every such set is produced exactly once. ``n_out`` (3,) counts are updated in place.
    """
    regs = np.empty(4, dtype=np.int64)
    regs[0] = root
    # Level 1: closed neighbourhood of {root}, plus the forbidden region.
    n1 = 0
    mark[root] = 1
    mark[forbidden] = 1
    s = nb_start[root]
    for i in range(nb_len[root]):
        x = pool_id[s + i]
        if active[x] and mark[x] == 0:
            mark[x] = 1
            ext1[n1] = x
            n1 += 1
    for i in range(n1):
        if n_out[0] >= caps[1] and n_out[1] >= caps[2] and n_out[2] >= caps[3]:
            break
        w1 = ext1[i]
        regs[1] = w1
        n_out[0] = _emit(out2, n_out[0], caps[1], regs, 2, step, steps2)
        if n_out[1] >= caps[2] and n_out[2] >= caps[3]:
            continue
        # Level 2 extension: the rest of ext1 plus exclusive neighbours of w1.
        n2 = 0
        for j in range(i + 1, n1):
            ext2[n2] = ext1[j]
            n2 += 1
        first_new2 = n2
        s1 = nb_start[w1]
        for q in range(nb_len[w1]):
            x = pool_id[s1 + q]
            if active[x] and mark[x] == 0:
                mark[x] = 2
                ext2[n2] = x
                n2 += 1
        for j in range(n2):
            if n_out[1] >= caps[2] and n_out[2] >= caps[3]:
                break
            w2 = ext2[j]
            regs[2] = w2
            n_out[1] = _emit(out3, n_out[1], caps[2], regs, 3, step, steps3)
            if n_out[2] >= caps[3]:
                continue
            n3 = 0
            for q in range(j + 1, n2):
                ext3[n3] = ext2[q]
                n3 += 1
            first_new3 = n3
            s2 = nb_start[w2]
            for q in range(nb_len[w2]):
                x = pool_id[s2 + q]
                if active[x] and mark[x] == 0:
                    mark[x] = 3
                    ext3[n3] = x
                    n3 += 1
            for q in range(n3):
                if n_out[2] >= caps[3]:
                    break
                regs[3] = ext3[q]
                n_out[2] = _emit(out4, n_out[2], caps[3], regs, 4, step, steps4)
            for q in range(first_new3, n3):
                mark[ext3[q]] = 0
        for j in range(first_new2, n2):
            mark[ext2[j]] = 0
    for i in range(n1):
        mark[ext1[i]] = 0
    mark[root] = 0
    mark[forbidden] = 0


@njit(cache=True, nogil=True)
def _tree_candidates(merges, n_leaves, order, begin, end, adj_ptr, adj_leaf, adj_cnt, caps):
    """Top-down sweep producing the four candidate lists of one tree (see module docs)."""
    n_merges = merges.shape[0]
    n_nodes = n_leaves + n_merges
    root = n_nodes - 1
    out1 = np.empty((max(caps[0], 0), 1), dtype=np.int64)
    out2 = np.empty((max(caps[1], 0), 2), dtype=np.int64)
    out3 = np.empty((max(caps[2], 0), 3), dtype=np.int64)
    out4 = np.empty((max(caps[3], 0), 4), dtype=np.int64)
    steps1 = np.empty(max(caps[0], 0), dtype=np.int64)
    steps2 = np.empty(max(caps[1], 0), dtype=np.int64)
    steps3 = np.empty(max(caps[2], 0), dtype=np.int64)
    steps4 = np.empty(max(caps[3], 0), dtype=np.int64)
    n_out = np.zeros(3, dtype=np.int64)  # pairs, triplets, quads
    n1 = 0
    regs = np.empty(1, dtype=np.int64)
    regs[0] = root
    n1 = _emit(out1, n1, caps[0], regs, 1, 0, steps1)

    active = np.zeros(n_nodes, dtype=np.bool_)
    active[root] = True
    mark = np.zeros(n_nodes, dtype=np.int64)
    ext1 = np.empty(n_nodes, dtype=np.int64)
    ext2 = np.empty(n_nodes, dtype=np.int64)
    ext3 = np.empty(n_nodes, dtype=np.int64)
    nb_start = np.zeros(n_nodes, dtype=np.int64)
    nb_len = np.zeros(n_nodes, dtype=np.int64)
    nb_cap = np.zeros(n_nodes, dtype=np.int64)
    pool_size = 8 * n_nodes + 16
    pool_id = np.empty(pool_size, dtype=np.int64)
    pool_cnt = np.empty(pool_size, dtype=np.int64)
    pool_end = 0
    slot_of_leaf = np.zeros(n_leaves, dtype=np.int64)
    region_of_slot = np.zeros(n_leaves, dtype=np.int64)
    slot_of_node = np.zeros(n_nodes, dtype=np.int64)
    region_of_slot[0] = root
    n_slots = 1
    cnt = np.zeros(n_nodes, dtype=np.int64)
    touched = np.empty(n_nodes, dtype=np.int64)
    pnb = np.empty(n_nodes, dtype=np.int64)
    pnc = np.empty(n_nodes, dtype=np.int64)

    n_steps = 0
    for j in range(1, n_merges + 1):
        if (n1 >= caps[0] and n_out[0] >= caps[1] and n_out[1] >= caps[2]
                and n_out[2] >= caps[3]):
            break
        n_steps = j
        k = n_merges - j
        parent = n_leaves + k
        a = merges[k, 0]
        b = merges[k, 1]
        size_a = end[a] - begin[a]
        size_b = end[b] - begin[b]
        if size_a <= size_b:
            small = a
            big = b
        else:
            small = b
            big = a
        # Snapshot the parent's current neighbours before any list changes.
        n_pn = 0
        sp = nb_start[parent]
        for i in range(nb_len[parent]):
            x = pool_id[sp + i]
            if active[x]:
                pnb[n_pn] = x
                pnc[n_pn] = pool_cnt[sp + i]
                n_pn += 1
        active[parent] = False
        active[a] = True
        active[b] = True
        # Slots: the big child keeps the parent's slot, the small one gets a new one.
        p_slot = slot_of_node[parent]
        region_of_slot[p_slot] = big
        slot_of_node[big] = p_slot
        q_slot = n_slots
        n_slots += 1
        region_of_slot[q_slot] = small
        slot_of_node[small] = q_slot
        for i in range(begin[small], end[small]):
            slot_of_leaf[order[i]] = q_slot
        # Boundary counts of the small child with every current region.
        n_t = 0
        for i in range(begin[small], end[small]):
            u = order[i]
            for e in range(adj_ptr[u], adj_ptr[u + 1]):
                r = region_of_slot[slot_of_leaf[adj_leaf[e]]]
                if r != small:
                    if cnt[r] == 0:
                        touched[n_t] = r
                        n_t += 1
                    cnt[r] += adj_cnt[e]
        # Neighbours of the parent: split their contact between small and big.
        for i in range(n_pn):
            r = pnb[i]
            c_small = cnt[r]
            c_big = pnc[i] - c_small
            if c_big > 0:
                pool_id, pool_cnt, pool_end = _nb_append(
                    big, r, c_big, nb_start, nb_len, nb_cap, pool_id, pool_cnt, pool_end, active)
                pool_id, pool_cnt, pool_end = _nb_append(
                    r, big, c_big, nb_start, nb_len, nb_cap, pool_id, pool_cnt, pool_end, active)
            if c_small > 0:
                pool_id, pool_cnt, pool_end = _nb_append(
                    r, small, c_small, nb_start, nb_len, nb_cap, pool_id, pool_cnt, pool_end,
                    active)
        for i in range(n_t):
            r = touched[i]
            pool_id, pool_cnt, pool_end = _nb_append(
                small, r, cnt[r], nb_start, nb_len, nb_cap, pool_id, pool_cnt, pool_end, active)
            if r == big:
                pool_id, pool_cnt, pool_end = _nb_append(
                    big, small, cnt[r], nb_start, nb_len, nb_cap, pool_id, pool_cnt, pool_end,
                    active)
        for i in range(n_t):
            cnt[touched[i]] = 0
        # New candidates of this step.
        regs[0] = a
        n1 = _emit(out1, n1, caps[0], regs, 1, j, steps1)
        regs[0] = b
        n1 = _emit(out1, n1, caps[0], regs, 1, j, steps1)
        if n_out[0] < caps[1] or n_out[1] < caps[2] or n_out[2] < caps[3]:
            _enumerate_rooted(a, b, j, nb_start, nb_len, pool_id, active, mark, ext1, ext2,
                              ext3, out2, out3, out4, n_out, caps, steps2, steps3, steps4)
            _enumerate_rooted(b, a, j, nb_start, nb_len, pool_id, active, mark, ext1, ext2,
                              ext3, out2, out3, out4, n_out, caps, steps2, steps3, steps4)
    return (out1[:n1], out2[:n_out[0]], out3[:n_out[1]], out4[:n_out[2]],
            steps1[:n1], steps2[:n_out[0]], steps3[:n_out[1]], steps4[:n_out[2]], n_steps)


@njit(cache=True, nogil=True)
def _lowest_used_ancestor(parents, used):
    """For every node, the lowest used node on its path to the root (itself included), -1."""
    n = parents.shape[0]
    low = np.full(n, -1, dtype=np.int64)
    for v in range(n - 1, -1, -1):
        if used[v]:
            low[v] = v
        elif parents[v] >= 0:
            low[v] = low[parents[v]]
    return low


@njit(cache=True, nogil=True)
def _gather_ranges(index, cand_tree, lo, hi, leaf_order):
    """Sorted CSR leaf sets of the candidates ``index`` given as unions of leaf ranges."""
    n = index.shape[0]
    offsets = np.zeros(n + 1, dtype=np.int64)
    for k in range(n):
        i = index[k]
        tot = 0
        for q in range(lo.shape[1]):
            tot += hi[i, q] - lo[i, q]
        offsets[k + 1] = offsets[k] + tot
    indices = np.empty(offsets[n], dtype=np.int32)
    for k in range(n):
        i = index[k]
        t = cand_tree[i]
        w = offsets[k]
        for q in range(lo.shape[1]):
            for p in range(lo[i, q], hi[i, q]):
                indices[w] = leaf_order[t, p]
                w += 1
        indices[offsets[k]:offsets[k + 1]].sort()
    return indices, offsets


# ----------------------------------------------------------------------------------------
# Python API
# ----------------------------------------------------------------------------------------


def _leaf_graph(leaves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric CSR leaf adjacency with boundary lengths (number of 4-adjacent pixel pairs).

    Returns
    -------
    ptr : (L+1,) int64; nbr : (2E,) int64; count : (2E,) int64.
    """
    leaves = np.ascontiguousarray(leaves, dtype=np.int64)
    return _leaf_graph_kernel(leaves, int(leaves.max()) + 1)


@njit(cache=True, nogil=True)
def _leaf_graph_kernel(leaves, n):
    """:func:`_leaf_graph` of an (H, W) int64 label image with labels ``0..n-1``."""
    h, w = leaves.shape
    incidences = np.zeros(n + 1, dtype=np.int64)  # pixel pairs seen from each leaf
    for y in range(h):
        for x in range(w):
            a = leaves[y, x]
            if x + 1 < w and leaves[y, x + 1] != a:
                incidences[a + 1] += 1
                incidences[leaves[y, x + 1] + 1] += 1
            if y + 1 < h and leaves[y + 1, x] != a:
                incidences[a + 1] += 1
                incidences[leaves[y + 1, x] + 1] += 1
    start = np.cumsum(incidences)
    other = np.empty(start[n], dtype=np.int64)
    cursor = start[:n].copy()
    for y in range(h):
        for x in range(w):
            a = leaves[y, x]
            for side in range(2):
                if side == 0:
                    if x + 1 == w:
                        continue
                    b = leaves[y, x + 1]
                else:
                    if y + 1 == h:
                        continue
                    b = leaves[y + 1, x]
                if b != a:
                    other[cursor[a]] = b
                    cursor[a] += 1
                    other[cursor[b]] = a
                    cursor[b] += 1
    # each leaf's neighbours sorted, then one entry per neighbour with its multiplicity
    ptr = np.zeros(n + 1, dtype=np.int64)
    nbr = np.empty(start[n], dtype=np.int64)
    count = np.empty(start[n], dtype=np.int64)
    size = 0
    for leaf in range(n):
        run = np.sort(other[start[leaf]:start[leaf + 1]])
        for i in range(run.shape[0]):
            if i > 0 and run[i] == run[i - 1]:
                count[size - 1] += 1
            else:
                nbr[size] = run[i]
                count[size] = 1
                size += 1
        ptr[leaf + 1] = size
    return ptr, nbr[:size].copy(), count[:size].copy()


@dataclass
class TreeCandidates:
    """The candidate lists of one hierarchy.

    Attributes
    ----------
    regions : list of 4 ndarrays
        ``regions[s-1]`` is an ``(n_s, s)`` int64 array of node ids of the tree (increasing
        rank order: row 0 is the best-ranked ``s``-tuple).
    steps : list of 4 ndarrays
        ``(n_s,)`` int64: top-down step at which each candidate appeared (0 = root).
    n_steps : int
        Number of splits undone by the sweep before every list was full.
    """

    regions: list
    steps: list
    n_steps: int

    def counts(self) -> np.ndarray:
        """(4,) int64: number of candidates in each list."""
        return np.array([len(r) for r in self.regions], dtype=np.int64)


def _check_caps(n_cands, name="n_cands") -> np.ndarray:
    caps = np.asarray(n_cands)
    if caps.shape != (MAX_REGIONS,):
        raise ValueError(f"{name} must hold {MAX_REGIONS} counts (1..4 regions), got shape "
                         f"{caps.shape}")
    if not np.issubdtype(caps.dtype, np.integer):
        if not np.all(np.isfinite(caps)) or np.any(caps != np.round(caps)):
            raise ValueError(f"{name} must hold non-negative integers, got {caps.tolist()}")
    caps = caps.astype(np.int64)
    if np.any(caps < 0):
        raise ValueError(f"{name} must hold non-negative integers, got {caps.tolist()}")
    return caps


def tree_candidate_lists(tree: MergeTree, n_cands: Sequence[int]) -> TreeCandidates:
    """Ranked lists of singletons, pairs, triplets and 4-tuples of one hierarchy.

    Parameters
    ----------
    tree : MergeTree
    n_cands : (4,) ints
        Maximum length of each list (1, 2, 3, 4 regions). Lists are shorter when the tree
        has fewer such candidates.

    Returns
    -------
    TreeCandidates
        See the module docstring for the order.
    """
    if not isinstance(tree, MergeTree):
        raise ValueError(f"tree must be a grouping.hierarchy.MergeTree, got {type(tree).__name__}")
    caps = _check_caps(n_cands)
    order, begin, end = tree.leaf_ranges()
    ptr, nbr, cnt = _leaf_graph(tree.leaves)
    res = _tree_candidates(tree.merges.astype(np.int64), tree.n_leaves, order, begin, end,
                           ptr, nbr, cnt, caps)
    return TreeCandidates(list(res[0:4]), list(res[4:8]), int(res[8]))


def _compact(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels 0..U-1 in order of first occurrence (raster order) of non-negative int64 codes."""
    labels, distinct, _ = first_occurrence_codes(values)
    return labels, len(distinct)


def intersect_partitions(label_images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Intersection of several partitions of one image.

    Two pixels share a base label exactly when they share the label in every input.

    Parameters
    ----------
    label_images : sequence of T (H, W) integer ndarrays (labels >= 0).

    Returns
    -------
    base : (H, W) int32, labels ``0..B-1`` numbered in raster order of first pixel.
    lut : (T, B) int64, the input label of every base label in each input.
    """
    if len(label_images) == 0:
        raise ValueError("need at least one partition to intersect")
    shape = np.shape(label_images[0])
    for i, lab in enumerate(label_images):
        if np.shape(lab) != shape or len(shape) != 2:
            raise ValueError(f"partition {i} has shape {np.shape(lab)}, expected {shape} (2-D)")
    code = np.zeros(int(np.prod(shape)), dtype=np.int64)
    for lab in label_images:
        lab = np.asarray(lab).astype(np.int64).ravel()
        if lab.min() < 0:
            raise ValueError("partition labels must be >= 0")
        code, _ = _compact(code * (int(lab.max()) + 1) + lab)
    base, n_base = _compact(code)
    first = np.zeros(n_base, dtype=np.int64)
    first[base[::-1]] = np.arange(len(base) - 1, -1, -1)
    lut = np.stack([np.asarray(lab).astype(np.int64).ravel()[first] for lab in label_images])
    return base.reshape(shape).astype(np.int32), lut


def default_n_cands(n_trees: int, total: int = 10000) -> np.ndarray:
    """Untrained working point: how many candidates to take from each of the 4T lists.

    Used until :mod:`grouping.pareto` has been trained. The split follows the shape of
    MCG's published working points (more pairs and triplets than singletons and 4-tuples):
    fractions 0.10, 0.35, 0.35, 0.20 for 1..4 regions, divided equally among the trees.

    Returns
    -------
    (4, T) int64.
    """
    if n_trees < 1:
        raise ValueError(f"n_trees must be >= 1, got {n_trees}")
    frac = np.array([0.10, 0.35, 0.35, 0.20])
    per = np.maximum(1, np.round(frac * total / n_trees)).astype(np.int64)
    return np.repeat(per[:, None], n_trees, axis=1)


@dataclass
class CandidateSet:
    """Candidates of several hierarchies expressed on one base partition.

    Attributes
    ----------
    superpixels : (H, W) int32
        Base partition, labels ``0..B-1``.
    tree : (N,) int64
        Index of the hierarchy each candidate comes from.
    n_regions : (N,) int64
        1..4, the list it belongs to.
    regions : (N, 4) int64
        Node ids (in their own tree) of the candidate's regions, -1 padded.
    rank : (N,) int64
        Position in its own list (0 = best).
    step : (N,) int64
        Top-down step of its list at which it appeared.
    start_ths, end_ths : (N, 4) float64
        Thresholds ``[start, end)`` of existence of each region (NaN padded; the root's end
        is the tree's largest merge height, or 1.0 for a single-region tree).
    range_lo, range_hi : (N, 4) int64
        Region ``q`` of candidate ``i`` is the base leaves ``leaf_order[tree[i]][lo:hi]``
        (0, 0 padded): every region is a contiguous range in its tree's leaf order.
    leaf_order : (T, B) int64
        Base leaves sorted by the depth-first leaf order of each tree.
    leaf_rank : (T, B) int64
        Inverse permutation of ``leaf_order`` (position of every base leaf).
    """

    superpixels: np.ndarray
    tree: np.ndarray
    n_regions: np.ndarray
    regions: np.ndarray
    rank: np.ndarray
    step: np.ndarray
    start_ths: np.ndarray
    end_ths: np.ndarray
    range_lo: np.ndarray
    range_hi: np.ndarray
    leaf_order: np.ndarray
    leaf_rank: np.ndarray

    @property
    def n_trees(self) -> int:
        return int(self.leaf_order.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(len(self.tree))

    def __len__(self) -> int:
        return self.n_candidates

    @property
    def n_leaves(self) -> int:
        return int(self.superpixels.max()) + 1

    def leaf_csr(self, index=None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted CSR leaf sets of the candidates ``index`` (all when None).

        Returns
        -------
        leaf_indices : (T_nnz,) int32, leaf_offsets : (len(index)+1,) int64.
        """
        index = (np.arange(self.n_candidates) if index is None
                 else np.atleast_1d(np.asarray(index, dtype=np.int64)))
        return _gather_ranges(index, self.tree, self.range_lo, self.range_hi, self.leaf_order)

    def leaves(self, i: int) -> np.ndarray:
        """Base leaves (int32, sorted) of candidate ``i``."""
        return self.leaf_csr([i])[0]

    def mask(self, i: int) -> np.ndarray:
        """(H, W) bool mask of candidate ``i``."""
        lookup = np.zeros(self.n_leaves, dtype=bool)
        lookup[self.leaves(i)] = True
        return lookup[self.superpixels]

    def subset(self, index: np.ndarray) -> "CandidateSet":
        """The candidates ``index`` (int array, any order), as a new set."""
        index = np.asarray(index, dtype=np.int64)
        return CandidateSet(self.superpixels, self.tree[index], self.n_regions[index],
                            self.regions[index], self.rank[index], self.step[index],
                            self.start_ths[index], self.end_ths[index], self.range_lo[index],
                            self.range_hi[index], self.leaf_order, self.leaf_rank)


def candidates_from_trees(trees: Sequence[MergeTree], n_cands) -> CandidateSet:
    """All candidates of several hierarchies, on their common base partition.

    Parameters
    ----------
    trees : sequence of T MergeTree of the same image size (e.g. multiscale, 0.5, 1, 2).
    n_cands : (4, T) int array
        ``n_cands[s-1, t]`` candidates of ``s`` regions are taken from tree ``t``
        (MCG's learned ``n_cands``; :func:`default_n_cands` or
        :meth:`grouping.pareto.WorkingPoints.n_cands_for`).

    Returns
    -------
    CandidateSet
        Candidates ordered by tree, then by number of regions, then by rank in their list.
        Masks may repeat across trees (see :mod:`grouping.ranking` for duplicate removal).
    """
    trees = list(trees)
    if not trees:
        raise ValueError("need at least one merge tree")
    for t, tree in enumerate(trees):
        if not isinstance(tree, MergeTree):
            raise ValueError(f"trees[{t}] is a {type(tree).__name__}, not a MergeTree")
        if tree.shape != trees[0].shape:
            raise ValueError(f"trees[{t}] has shape {tree.shape}, trees[0] has "
                             f"{trees[0].shape}: all hierarchies must be of the same image")
    n_trees = len(trees)
    n_cands = np.asarray(n_cands)
    if n_cands.ndim == 1 and n_trees == 1:
        n_cands = n_cands[:, None]
    if n_cands.shape != (MAX_REGIONS, n_trees):
        raise ValueError(f"n_cands must have shape ({MAX_REGIONS}, {n_trees}) (regions x "
                         f"trees), got {n_cands.shape}")
    lists = [tree_candidate_lists(tree, n_cands[:, t]) for t, tree in enumerate(trees)]

    # Prune each tree to the regions it uses; intersect the pieces.
    pieces = []
    ranges_info = []
    for tree, lst in zip(trees, lists):
        used = np.zeros(tree.n_regions, dtype=bool)
        for regs in lst.regions:
            used[regs.ravel()] = True
        low = _lowest_used_ancestor(tree.parents, used)
        piece = low[: tree.n_leaves]
        piece = np.where(piece < 0, tree.n_regions, piece)  # leaves outside any used region
        pieces.append(piece[tree.leaves])
        ranges_info.append(tree.leaf_ranges())
    base, lut = intersect_partitions(pieces)
    n_base = int(base.max()) + 1
    # One representative tree leaf per base leaf, in every tree.
    first_pixel = np.zeros(n_base, dtype=np.int64)
    flat_base = base.ravel()
    first_pixel[flat_base[::-1]] = np.arange(flat_base.size - 1, -1, -1)
    tree_leaf_pos = np.empty((n_trees, n_base), dtype=np.int64)
    sorted_leaves = np.empty(n_trees * n_base, dtype=np.int64)
    max_nodes = max(tree.n_regions for tree in trees)
    range_lo = np.zeros((n_trees, max_nodes), dtype=np.int64)
    range_hi = np.zeros((n_trees, max_nodes), dtype=np.int64)
    for t, tree in enumerate(trees):
        order, begin, end = ranges_info[t]
        pos_of_leaf = np.empty(tree.n_leaves, dtype=np.int64)
        pos_of_leaf[order] = np.arange(tree.n_leaves)
        pos = pos_of_leaf[tree.leaves.ravel()[first_pixel]]
        tree_leaf_pos[t] = pos
        srt = np.argsort(pos, kind="stable")
        sorted_leaves[t * n_base:(t + 1) * n_base] = srt
        sorted_pos = pos[srt]
        range_lo[t, : tree.n_regions] = np.searchsorted(sorted_pos, begin, side="left")
        range_hi[t, : tree.n_regions] = np.searchsorted(sorted_pos, end, side="left")

    # Stack the candidates.
    rows_nodes, rows_tree, rows_size, rows_rank, rows_step, rows_start, rows_end = \
        [], [], [], [], [], [], []
    for t, (tree, lst) in enumerate(zip(trees, lists)):
        start = tree.start_ths
        end_th = tree.end_ths
        top = float(tree.heights[-1]) if tree.n_merges else 1.0
        end_th = np.where(np.isfinite(end_th), end_th, top)
        for s, (regs, steps) in enumerate(zip(lst.regions, lst.steps), start=1):
            n = len(regs)
            if n == 0:
                continue
            nodes = np.full((n, MAX_REGIONS), -1, dtype=np.int64)
            nodes[:, :s] = regs
            st = np.full((n, MAX_REGIONS), np.nan)
            en = np.full((n, MAX_REGIONS), np.nan)
            st[:, :s] = start[regs]
            en[:, :s] = end_th[regs]
            rows_nodes.append(nodes)
            rows_tree.append(np.full(n, t, dtype=np.int64))
            rows_size.append(np.full(n, s, dtype=np.int64))
            rows_rank.append(np.arange(n, dtype=np.int64))
            rows_step.append(steps.astype(np.int64))
            rows_start.append(st)
            rows_end.append(en)
    nodes = np.concatenate(rows_nodes)
    cand_tree = np.concatenate(rows_tree)
    sizes = np.concatenate(rows_size)
    safe = np.maximum(nodes, 0)
    valid = nodes >= 0
    cand_lo = np.where(valid, range_lo[cand_tree[:, None], safe], 0)
    cand_hi = np.where(valid, range_hi[cand_tree[:, None], safe], 0)
    leaf_order = sorted_leaves.reshape(n_trees, n_base)
    leaf_rank = np.empty_like(leaf_order)
    for t in range(n_trees):
        leaf_rank[t, leaf_order[t]] = np.arange(n_base)
    return CandidateSet(base, cand_tree, sizes, nodes,
                        np.concatenate(rows_rank), np.concatenate(rows_step),
                        np.concatenate(rows_start), np.concatenate(rows_end),
                        cand_lo, cand_hi, leaf_order, leaf_rank)
