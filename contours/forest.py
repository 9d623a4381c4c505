"""Model format of the structured edge forest: arrays, metadata, save / load.

A model file is a compressed ``.npz`` (no pickles) holding

* ``fids`` int32 (n_nodes,): feature id tested at a split node (see :mod:`contours.features`);
* ``thrs`` float32 (n_nodes,): go to the left child when ``feature < thr``;
* ``child`` int32 (n_nodes,): index of the left child (right child = left + 1), 0 for a leaf;
* ``roots`` int32 (n_trees,): root node of each tree;
* ``leaf_index`` int32 (n_nodes,): row of the leaf in ``leaf_segs`` (-1 for split nodes);
* ``leaf_segs`` uint8 (n_leaves, 16, 16): the leaf's medoid segmentation, labels 0..nsegs-1;
* ``metadata``: a JSON string (format name, version, options, training command, seed, wall time).

Boundary pixels of each leaf (and the rings at distance 1 and 2 used by sharpening) are
derived from ``leaf_segs`` when loading.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from contours.features import LABEL_SIZE, N_FEATURES

FORMAT_NAME = "mcg-structured-edge-forest"
FORMAT_VERSION = 1
N_RINGS = 3  # boundary + 2 rings: supports sharpening of up to 2 pixels
#: Packed inference nodes: ``node_words[k, 1]`` holds the feature id in its low bits and, above
#: them, the offset from node k to its left child (0 for a leaf; the right child follows the
#: left one); ``node_words[k, 0]`` holds the threshold's float32 bits (read through
#: ``node_thresholds``), or the leaf's row in ``leaf_segs`` for a leaf.
NODE_FEATURE_BITS = 13
if N_FEATURES > 2 ** NODE_FEATURE_BITS:  # pragma: no cover - a change of the feature set
    raise ImportError("NODE_FEATURE_BITS too small for the feature ids")


@njit(cache=True, nogil=True)
def _boundary_rings(segs, n_rings):
    """Pixels of each leaf segment mask by ring: ring 0 = pixels whose label differs across
    them (central differences), ring r = pixels at Chebyshev distance r from ring 0.

    Returns the flat pixel indices (y * g + x, raster order within a ring) and, per leaf, the
    start of each ring in them (``starts[leaf, r] .. starts[leaf, r + 1]``). The rings are
    built as bit rows (``g`` <= 62): ring r is the 3x3 dilation of rings 0 .. r-1 minus them.
    """
    n_leaves = segs.shape[0]
    g = segs.shape[1]
    full = (np.int64(1) << g) - 1
    starts = np.zeros((n_leaves, n_rings + 1), np.int32)
    pixels = np.empty(n_leaves * g * g, np.uint8)
    count = 0
    ring_rows = np.zeros((n_rings, g), np.int64)
    covered = np.zeros(g, np.int64)
    widened = np.zeros(g, np.int64)
    for leaf in range(n_leaves):
        s = segs[leaf]
        first = s[0, 0]
        uniform = True
        for y in range(g):
            for x in range(g):
                if s[y, x] != first:
                    uniform = False
                    break
            if not uniform:
                break
        if uniform:  # one segment: no boundary, every ring empty
            for ring in range(n_rings + 1):
                starts[leaf, ring] = count
            continue
        # ring 0: nonzero central-difference gradient of the label image
        for y in range(g):
            ya = y - 1 if y > 0 else 0
            yb = y + 1 if y < g - 1 else g - 1
            bits = np.int64(0)
            for x in range(g):
                xa = x - 1 if x > 0 else 0
                xb = x + 1 if x < g - 1 else g - 1
                if s[y, xa] != s[y, xb] or s[ya, x] != s[yb, x]:
                    bits |= np.int64(1) << x
            ring_rows[0, y] = bits
            covered[y] = bits
        # ring r: one more 3x3 (Chebyshev) dilation of the pixels covered so far
        for ring in range(1, n_rings):
            for y in range(g):
                row = covered[y]
                widened[y] = (row | (row << 1) | (row >> 1)) & full
            for y in range(g):
                grown = widened[y]
                if y > 0:
                    grown |= widened[y - 1]
                if y < g - 1:
                    grown |= widened[y + 1]
                ring_rows[ring, y] = grown & ~covered[y]
            for y in range(g):
                covered[y] |= ring_rows[ring, y]
        # place each ring's pixels in raster order
        for ring in range(n_rings):
            starts[leaf, ring] = count
            for y in range(g):
                bits = ring_rows[ring, y]
                x = 0
                while bits != 0:
                    if bits & 1:
                        pixels[count] = y * g + x
                        count += 1
                    bits >>= 1
                    x += 1
        starts[leaf, n_rings] = count
    return pixels[:count].copy(), starts


@njit(cache=True, nogil=True)
def _two_segment_rows(segs, nsegs):
    """Bit rows of the two-segment leaves: bit x of ``rows[leaf, y]`` is ``segs[leaf, y, x]``.

    Leaves with another segment count get zero rows (the mask is only read when ``nsegs`` is 2).
    """
    n_leaves, g, _ = segs.shape
    rows = np.zeros((n_leaves, g), np.uint16)
    for leaf in range(n_leaves):
        if nsegs[leaf] != 2:
            continue
        for y in range(g):
            bits = 0
            for x in range(g):
                bits |= np.int64(segs[leaf, y, x]) << x
            rows[leaf, y] = bits
    return rows


@njit(cache=True, nogil=True)
def _depth_first_layout(child, roots):
    """Order nodes depth-first, sibling pairs kept adjacent: returns new position of each node."""
    n = child.shape[0]
    new = np.full(n, -1, np.int64)
    stack = np.empty(n + 1, np.int64)
    nxt = 0
    for root in roots:
        new[root] = nxt
        nxt += 1
        top = 0
        stack[top] = root
        top += 1
        while top > 0:
            top -= 1
            k = stack[top]
            left = child[k]
            if left != 0:
                new[left] = nxt
                new[left + 1] = nxt + 1
                nxt += 2
                stack[top] = left + 1
                stack[top + 1] = left
                top += 2
    return new


@dataclass
class EdgeForest:
    """A trained structured edge forest (see module docstring for the arrays)."""

    fids: np.ndarray
    thrs: np.ndarray
    child: np.ndarray
    roots: np.ndarray
    leaf_index: np.ndarray
    leaf_segs: np.ndarray
    metadata: dict = field(default_factory=dict)
    ring_pixels: np.ndarray = field(init=False, repr=False)
    ring_starts: np.ndarray = field(init=False, repr=False)
    leaf_nsegs: np.ndarray = field(init=False, repr=False)
    leaf_rows: np.ndarray = field(init=False, repr=False)
    node_words: np.ndarray = field(init=False, repr=False)
    node_thresholds: np.ndarray = field(init=False, repr=False)
    table_roots: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.fids = np.ascontiguousarray(self.fids, dtype=np.int32)
        self.thrs = np.ascontiguousarray(self.thrs, dtype=np.float32)
        self.child = np.ascontiguousarray(self.child, dtype=np.int32)
        self.roots = np.ascontiguousarray(self.roots, dtype=np.int32)
        self.leaf_index = np.ascontiguousarray(self.leaf_index, dtype=np.int32)
        self.leaf_segs = np.ascontiguousarray(self.leaf_segs, dtype=np.uint8)
        n_nodes = self.fids.shape[0]
        for name in ("thrs", "child", "leaf_index"):
            if getattr(self, name).shape != (n_nodes,):
                raise ValueError(f"forest array {name!r} must have shape ({n_nodes},)")
        if self.leaf_segs.ndim != 3 or self.leaf_segs.shape[1:] != (LABEL_SIZE, LABEL_SIZE):
            raise ValueError(f"leaf_segs must be (n_leaves, {LABEL_SIZE}, {LABEL_SIZE})")
        if self.roots.size == 0:
            raise ValueError("forest has no trees")
        split = self.child > 0
        if np.any(self.fids[split] < 0) or np.any(self.fids[split] >= N_FEATURES):
            raise ValueError("forest feature ids out of range")
        if np.any(self.child[split] + 1 >= n_nodes):
            raise ValueError("forest child index out of range")
        if np.any(self.leaf_index[~split] < 0) or np.any(self.leaf_index >= len(self.leaf_segs)):
            raise ValueError("forest leaf index out of range")
        self.ring_pixels, self.ring_starts = _boundary_rings(self.leaf_segs, N_RINGS)
        # inference layout: nodes in depth-first order (better cache locality), one 8-byte
        # row per node (see NODE_FEATURE_BITS)
        new = _depth_first_layout(self.child, self.roots)
        if np.any(new < 0):
            raise ValueError("forest has nodes unreachable from the roots")
        step = np.where(split, new[self.child] - new, 0)
        max_step = 2 ** (32 - NODE_FEATURE_BITS) - 1
        if step.max(initial=0) > max_step:
            raise ValueError(
                f"forest tree too large for the packed node table: a child lies "
                f"{int(step.max())} nodes after its parent in depth-first order, at most "
                f"{max_step} are supported (trees of up to about {2 * max_step} nodes)")
        words = np.empty((n_nodes, 2), np.uint32)
        words[new, 0] = np.where(split, self.thrs.view(np.uint32), self.leaf_index.astype(np.uint32))
        words[new, 1] = np.where(split, (step << NODE_FEATURE_BITS) | self.fids, 0).astype(np.uint32)
        self.node_words = words
        self.node_thresholds = words.view(np.float32)
        self.table_roots = new[self.roots].astype(np.int32)
        self.leaf_nsegs = (self.leaf_segs.reshape(len(self.leaf_segs), -1).max(axis=1)
                           .astype(np.int32) + 1) if len(self.leaf_segs) else np.zeros(0, np.int32)
        # two-segment leaves (most leaves with a boundary) as bit rows, for fast sharpening
        self.leaf_rows = _two_segment_rows(self.leaf_segs, self.leaf_nsegs)

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return int(self.roots.shape[0])

    def save(self, path: str | Path) -> None:
        """Write the forest as a compressed ``.npz`` (no pickled objects).

        Parameters
        ----------
        path : str or Path
        """
        meta = dict(self.metadata)
        meta.setdefault("format", FORMAT_NAME)
        meta.setdefault("version", FORMAT_VERSION)
        np.savez_compressed(
            path, fids=self.fids, thrs=self.thrs, child=self.child, roots=self.roots,
            leaf_index=self.leaf_index, leaf_segs=self.leaf_segs,
            metadata=np.array(json.dumps(meta, sort_keys=True)))

    @classmethod
    def load(cls, path: str | Path) -> "EdgeForest":
        """Read a forest written by :meth:`save`.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        EdgeForest

        Raises
        ------
        FileNotFoundError
            When ``path`` does not exist.
        ValueError
            When the file is not a forest of a supported format version.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"edge model not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as error:  # noqa: BLE001 - any read failure is a bad model file
            raise ValueError(f"cannot read edge model {path}: {error}") from error
        required = {"fids", "thrs", "child", "roots", "leaf_index", "leaf_segs", "metadata"}
        missing = required - set(arrays)
        if missing:
            raise ValueError(f"edge model {path} lacks arrays {sorted(missing)}")
        meta = json.loads(str(arrays.pop("metadata")))
        if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"edge model {path} has format {meta.get('format')!r} version "
                             f"{meta.get('version')!r}; expected {FORMAT_NAME!r} {FORMAT_VERSION}")
        return cls(metadata=meta, **arrays)
