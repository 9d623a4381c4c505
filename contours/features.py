"""Patch features of the structured edge forest.

A 32x32 image patch is a 16x16 window of the 13 half-resolution channels.
Features (7228 in all):

* ``f < 3328`` (regular): ``reg[ch, r + i, c + j]`` with ``f = ch * 256 + i * 16 + j``;
* ``f >= 3328`` (self-similarity): for each channel ``ch`` and each pair of cells
  ``p < q`` of a 5x5 grid (cell ``p = pi * 5 + pj`` sits at row ``CELL_LOCS[pi]``,
  column ``CELL_LOCS[pj]`` of the window),
  ``sim[ch, cell p] - sim[ch, cell q]``, numbered channel-major then pair order.

``(r, c)`` is the top-left corner of the window in channel coordinates.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from contours.channels import N_CHANNELS

PATCH_SIZE = 32            # image patch width (full resolution)
LABEL_SIZE = 16            # ground-truth / output patch width (full resolution)
WINDOW = PATCH_SIZE // 2   # channel window width (half resolution)
N_CELLS = 5
CELL_LOCS = np.array([1, 4, 8, 11, 14], dtype=np.int64)
N_REG_FEATURES = WINDOW * WINDOW * N_CHANNELS                     # 3328
N_PAIRS = (N_CELLS * N_CELLS) * (N_CELLS * N_CELLS - 1) // 2      # 300
N_SIM_FEATURES = N_PAIRS * N_CHANNELS                             # 3900
N_FEATURES = N_REG_FEATURES + N_SIM_FEATURES                      # 7228


def feature_offsets(chn_height: int, chn_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat offsets of every feature inside (13, chn_height, chn_width) channel arrays.

    Parameters
    ----------
    chn_height, chn_width : int
        Size of the half-resolution channel images.

    Returns
    -------
    reg_offsets : ndarray, int64, (3328,)
        Offset of regular feature f relative to the window's top-left corner.
    sim_offsets_a, sim_offsets_b : ndarray, int64, (3900,)
        Offsets of the two cells whose difference is self-similarity feature
        ``N_REG_FEATURES + k``.
    """
    plane = chn_height * chn_width
    ch, i, j = np.meshgrid(np.arange(N_CHANNELS), np.arange(WINDOW), np.arange(WINDOW), indexing="ij")
    reg_offsets = (ch * plane + i * chn_width + j).ravel().astype(np.int64)
    cells = np.arange(N_CELLS * N_CELLS)
    cell_offsets = CELL_LOCS[cells // N_CELLS] * chn_width + CELL_LOCS[cells % N_CELLS]
    first, second = np.triu_indices(N_CELLS * N_CELLS, k=1)
    sim_a = (np.arange(N_CHANNELS)[:, None] * plane + cell_offsets[first][None, :]).ravel()
    sim_b = (np.arange(N_CHANNELS)[:, None] * plane + cell_offsets[second][None, :]).ravel()
    return reg_offsets, sim_a.astype(np.int64), sim_b.astype(np.int64)


def stack_feature_offsets(chn_height: int, chn_width: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of every feature in a :func:`contours.channels.channel_stack` buffer.

    Feature ``f`` of the window with top-left corner offset ``base`` is
    ``stack.flat[a[f] + base] - stack.flat[b[f] + base]``; for a regular feature ``b[f]``
    points into the stack's zero plane.

    Parameters
    ----------
    chn_height, chn_width : int
        Size of the half-resolution channel images.

    Returns
    -------
    a, b : ndarray, int64, (7228,)
    """
    plane = chn_height * chn_width
    reg, sim_a, sim_b = feature_offsets(chn_height, chn_width)
    sim_start = N_CHANNELS * plane
    zero_plane = 2 * N_CHANNELS * plane
    a = np.concatenate([reg, sim_a + sim_start])
    b = np.concatenate([np.full(N_REG_FEATURES, zero_plane, np.int64), sim_b + sim_start])
    return a, b


@njit(cache=True, nogil=True)
def _extract_kernel(reg_flat, sim_flat, reg_offsets, sim_a, sim_b, bases, fids):
    n = bases.shape[0]
    m = fids.shape[0]
    out = np.empty((n, m), np.float32)
    n_reg = reg_offsets.shape[0]
    for s in range(n):
        base = bases[s]
        for k in range(m):
            f = fids[k]
            if f < n_reg:
                out[s, k] = reg_flat[reg_offsets[f] + base]
            else:
                g = f - n_reg
                out[s, k] = sim_flat[sim_a[g] + base] - sim_flat[sim_b[g] + base]
    return out


def extract_features(chns_reg: np.ndarray, chns_sim: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     fids: np.ndarray | None = None) -> np.ndarray:
    """Features of the windows whose top-left corners are (rows, cols) in channel coordinates.

    Parameters
    ----------
    chns_reg, chns_sim : ndarray, float32, (13, h, w)
        Channels from :func:`contours.channels.compute_channels`.
    rows, cols : ndarray, int, (n,)
        Window corners; each window must fit: ``0 <= rows <= h - 16``, same for cols.
    fids : ndarray, int, (m,), optional
        Feature ids to extract (default: all 7228).

    Returns
    -------
    ndarray, float32, (n, m)
    """
    _, height, width = chns_reg.shape
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.size and (rows.min() < 0 or cols.min() < 0 or rows.max() > height - WINDOW
                      or cols.max() > width - WINDOW):
        raise ValueError("feature window outside the channel images")
    if fids is None:
        fids = np.arange(N_FEATURES, dtype=np.int64)
    reg_offsets, sim_a, sim_b = feature_offsets(height, width)
    bases = rows * width + cols
    return _extract_kernel(chns_reg.ravel(), chns_sim.ravel(), reg_offsets, sim_a, sim_b,
                           bases, np.asarray(fids, dtype=np.int64))


@njit(cache=True, nogil=True)
def quantize_features(values, fids, edges):
    """Bin features: bin = number of the feature's bin edges that are <= value.

    Parameters
    ----------
    values : ndarray, float32, (n, m)
    fids : ndarray, int64, (m,)   global feature id of each column
    edges : ndarray, float32, (N_FEATURES, 255)   ascending bin edges per feature

    Returns
    -------
    ndarray, uint8, (n, m)
    """
    n, m = values.shape
    n_edges = edges.shape[1]
    out = np.empty((n, m), np.uint8)
    for s in range(n):
        for k in range(m):
            e = edges[fids[k]]
            v = values[s, k]
            lo = 0
            hi = n_edges
            while lo < hi:
                mid = (lo + hi) >> 1
                if e[mid] <= v:
                    lo = mid + 1
                else:
                    hi = mid
            out[s, k] = lo
    return out
