"""Structured edge forest inference (Dollar & Zitnick, "Structured Forests for Fast Edge
Detection", ICCV 2013 / TPAMI 2015)."""
from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from contours.channels import channel_stack, conv_tri
from contours.features import LABEL_SIZE, PATCH_SIZE, stack_feature_offsets
from contours.forest import N_RINGS, NODE_FEATURE_BITS, EdgeForest
from contours.nms import edge_nms, edge_orientation

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "sed_bsds500.npz"
STRIDE = 2
N_TREES_EVAL = 4
MULTISCALE_FACTORS = (0.5, 1.0, 2.0)
# output normalization for sharpen = 0, 1, 2 (stride^2 / gtWidth^2 / nTreesEval times these)
SHARPEN_GAIN = (2.0, 1.8, 1.66)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> EdgeForest:
    return EdgeForest.load(path)


def load_model(model: EdgeForest | str | Path | None = None) -> EdgeForest:
    """Return a forest: the given one, one read from a path, or the shipped default (cached).

    Parameters
    ----------
    model : EdgeForest, str, Path or None
        ``None`` loads ``contours/models/sed_bsds500.npz`` once per process.

    Returns
    -------
    EdgeForest
    """
    if isinstance(model, EdgeForest):
        return model
    if model is None:
        model = DEFAULT_MODEL
    if not isinstance(model, (str, Path)):
        raise ValueError(f"model must be an EdgeForest, a path or None, not {type(model).__name__}")
    return _load_cached(str(Path(model).resolve()))


def check_image(image) -> np.ndarray:
    """Check that ``image`` is an image array this package takes, with a clear error if not.

    Parameters
    ----------
    image : ndarray
        (H, W) grayscale, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; dtype uint8 (0..255),
        uint16 (0..65535) or floating point with finite values in [0, 1]. Colour images are
        RGB: ``cv2.imread`` gives BGR, reverse it (``image[:, :, ::-1]``) or read with
        :func:`mcg.io.read_image`.

    Returns
    -------
    ndarray
        ``image`` itself.

    Raises
    ------
    ValueError
        Naming what is wrong: not an array (a path, ``None``, a list), shape, empty, dtype,
        non-finite or out-of-range float values.
    """
    if not isinstance(image, np.ndarray):
        hint = (" (to read a file, use mcg.read_image(path))"
                if isinstance(image, (str, Path)) else "")
        raise ValueError("image must be a numpy array ((H, W, 3) uint8 RGB, or (H, W) "
                         f"grayscale), not {type(image).__name__}{hint}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
        raise ValueError("image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape "
                         f"{image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    if image.dtype in (np.uint8, np.uint16):
        return image
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"unsupported image dtype {image.dtype}; use uint8, uint16 or float "
                         "in [0, 1]")
    if not np.all(np.isfinite(image)):
        raise ValueError("float image contains NaN or infinite values")
    if image.min() < 0.0 or image.max() > 1.0:
        raise ValueError(f"float image values must lie in [0, 1]; got [{image.min():g}, "
                         f"{image.max():g}]")
    return image


def check_threads(threads) -> int:
    """Return ``threads`` if it is a whole number of at least 1 (a thread count for one image),
    else raise ValueError naming it."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number of at least 1, got {threads!r}")
    return threads


def as_rgb_float(image: np.ndarray) -> np.ndarray:
    """Validate an image and convert it to float32 RGB in [0, 1].

    Parameters
    ----------
    image : ndarray
        (H, W) grayscale, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA (alpha dropped);
        dtype uint8 (0..255), uint16 (0..65535) or floating point with values in [0, 1].

    Returns
    -------
    ndarray, float32, (H, W, 3)

    Raises
    ------
    ValueError
        For any other type, dtype, shape, an empty image, or float values outside [0, 1].
    """
    image = check_image(image)
    if image.dtype == np.uint8:
        rgb = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        rgb = image.astype(np.float32) / 65535.0
    else:
        rgb = image.astype(np.float32)
    if rgb.ndim == 2:
        rgb = rgb[:, :, None]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    elif rgb.shape[2] == 4:
        rgb = rgb[:, :, :3]
    return np.ascontiguousarray(rgb)


@intrinsic
def _prefetch(typingctx, array, index):
    """Hint the CPU to load the cache line of ``array[index]`` (1-D array): LLVM's
    ``llvm.prefetch`` (read, high locality). No effect on results."""
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]],
                                           wraparound=False)
        byte_pointer_type = ir.IntType(8).as_pointer()
        byte_pointer = builder.bitcast(pointer, byte_pointer_type)
        # the intrinsic's name carries the pointer type: opaque (LLVM >= 15 in llvmlite's
        # opaque-pointer mode) or i8*
        opaque = getattr(byte_pointer_type, "is_opaque", False)
        name = "llvm.prefetch.p0" if opaque else "llvm.prefetch.p0i8"
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer_type, i32, i32, i32]),
            name)
        builder.call(function, [byte_pointer, ir.Constant(i32, 0), ir.Constant(i32, 3),
                                ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return signature, codegen


#: Pixels traversed at once by :func:`_apply_forest`: independent node fetches overlap their
#: cache misses (identical output for any value).
TRAVERSAL_BATCH = 16


@njit(cache=True, nogil=True)
def _apply_forest(stack_flat, feature_a, feature_b, chn_width, h1, w1, words, thresholds, roots,
                  n_eval):
    """Leaf rows reached by ``n_eval`` trees at every window (packed nodes, see forest.py).

    The traversals (a window and a tree slot: ``window * n_eval + slot``, windows in raster
    order) run ``TRAVERSAL_BATCH`` at once, one step each per round; a lane whose traversal
    reaches its leaf takes the next traversal, so the lanes stay busy to the end and the
    traversals in flight share their windows' features."""
    n_trees = roots.shape[0]
    words_flat = words.ravel()
    feature_mask = (1 << NODE_FEATURE_BITS) - 1
    leaves = np.empty((h1, w1, n_eval), np.int32)
    flat_leaves = leaves.reshape(-1)
    nodes = np.empty(TRAVERSAL_BATCH, np.int64)
    bases = np.empty(TRAVERSAL_BATCH, np.int64)
    jobs = np.empty(TRAVERSAL_BATCH, np.int64)
    n_jobs = h1 * w1 * n_eval
    next_job = 0
    n_lanes = min(TRAVERSAL_BATCH, n_jobs)
    for j in range(n_lanes):
        w = next_job // n_eval
        t = next_job - w * n_eval
        r = w // w1
        c = w - r * w1
        jobs[j] = next_job
        bases[j] = r * chn_width + c
        nodes[j] = roots[(((r + c) % 2) * n_eval + t) % n_trees]
        next_job += 1
    n_active = n_lanes
    while n_active > 0:
        for j in range(n_lanes):
            k = nodes[j]
            if k < 0:
                continue
            word = np.int64(words[k, 1])
            step = word >> NODE_FEATURE_BITS
            if step != 0:
                f = word & feature_mask
                v = stack_flat[feature_a[f] + bases[j]] - stack_flat[feature_b[f] + bases[j]]
                child = k + step + np.int64(not (v < thresholds[k, 0]))
                nodes[j] = child
                # the lane reads this node again only after the other lanes' steps: start
                # loading it now (the node table is far larger than the caches)
                _prefetch(words_flat, 2 * child)
                continue
            flat_leaves[jobs[j]] = words[k, 0]
            if next_job < n_jobs:
                w = next_job // n_eval
                t = next_job - w * n_eval
                r = w // w1
                c = w - r * w1
                jobs[j] = next_job
                bases[j] = r * chn_width + c
                nodes[j] = roots[(((r + c) % 2) * n_eval + t) % n_trees]
                next_job += 1
            else:
                nodes[j] = -1
                n_active -= 1
    return leaves


@njit(cache=True, nogil=True)
def _accumulate(leaves, ring_pixels, ring_starts, stride):
    g = LABEL_SIZE  # a compile-time constant: // and % by it are shifts
    h1, w1, n_eval = leaves.shape
    out = np.zeros((h1 * stride + g, w1 * stride + g), np.float32)
    for r in range(h1):
        for c in range(w1):
            for t in range(n_eval):
                leaf = leaves[r, c, t]
                for b in range(ring_starts[leaf, 0], ring_starts[leaf, 1]):
                    p = ring_pixels[b]
                    out[r * stride + p // g, c * stride + p % g] += 1.0
    return out


#: de Bruijn sequence and table: index of the lowest set bit of a 32-bit word
_DE_BRUIJN = 0x077CB531
_DE_BRUIJN_BIT = np.array([0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8, 31, 27, 13,
                           23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9], np.int64)


# Two-segment masks are held as "padded bit rows": rows[y + 1] has pixel x of row y at bit
# x + 1, bit 0 repeating pixel 0 and bit g + 1 repeating pixel g - 1; rows[0] and rows[g + 1]
# repeat the first and last row. A pixel's clamped 4-neighbours are then plain bit reads, as
# the general loop's border convention (a missing neighbour is the pixel itself).


@njit(cache=True, nogil=True)
def _load_padded_rows(leaf_row_bits, rows):
    """Padded bit rows (see above) of one leaf's bit rows."""
    g = LABEL_SIZE
    last = g - 1
    for y in range(g):
        bits = np.int64(leaf_row_bits[y])
        rows[y + 1] = (bits << 1) | (bits & 1) | (((bits >> last) & 1) << (g + 1))
    rows[0] = rows[1]
    rows[g + 1] = rows[g]


@njit(cache=True, nogil=True)
def _clear_colour_model(means, counts, n_segments):
    """Zero the colour sums and pixel counts of segments ``0 .. n_segments - 1``."""
    for s in range(n_segments):
        counts[s] = 0.0
        for z in range(means.shape[1]):
            means[s, z] = 0.0


@njit(cache=True, nogil=True)
def _finish_colour_model(means, counts, n_segments):
    """Colour sums to means; a segment without sampled pixels gets a mean no pixel is near."""
    for s in range(n_segments):
        if counts[s] > 0:
            for z in range(means.shape[1]):
                means[s, z] /= counts[s]
        else:
            for z in range(means.shape[1]):
                means[s, z] = 1e10


@njit(cache=True, nogil=True)
def _two_segment_colour_model(rows, image, y0, x0, means, counts):
    """Mean colour of both segments of a two-segment mask (padded bit rows), every other pixel.

    Branch-free with the sums in registers: each pixel adds its value to its own segment's sum
    and 0 to the other's, so every sum takes the same values in the same order as a sum over
    the segment's pixels alone (same float32 result). ``image``: (H, W, 3) float32."""
    g = LABEL_SIZE
    zero = np.float32(0.0)
    a0 = zero
    a1 = zero
    a2 = zero
    b0 = zero
    b1 = zero
    b2 = zero
    n1 = 0
    for y in range(0, g, 2):
        bits = rows[y + 1]
        for x in range(0, g, 2):
            in1 = ((bits >> (x + 1)) & 1) != 0
            n1 += np.int64(in1)
            v0 = image[y0 + y, x0 + x, 0]
            v1 = image[y0 + y, x0 + x, 1]
            v2 = image[y0 + y, x0 + x, 2]
            a0 += zero if in1 else v0
            a1 += zero if in1 else v1
            a2 += zero if in1 else v2
            b0 += v0 if in1 else zero
            b1 += v1 if in1 else zero
            b2 += v2 if in1 else zero
    counts[0] = np.float32((g // 2) * (g // 2) - n1)
    counts[1] = np.float32(n1)
    means[0, 0] = a0
    means[0, 1] = a1
    means[0, 2] = a2
    means[1, 0] = b0
    means[1, 1] = b1
    means[1, 2] = b2
    _finish_colour_model(means, counts, 2)


@njit(cache=True, nogil=True)
def _snap_two_segments(rows, ring_pixels, b0, b1, image, y0, x0, means):
    """Snap the ring pixels ``b0 .. b1`` of a two-segment mask (padded bit rows, in place).

    A pixel whose 4 neighbours agree takes their label; otherwise it takes the segment of
    closer mean colour, the left neighbour's segment on a tie (as the general loop does).
    Branch-free: the colour distances to both means are computed for every pixel.
    """
    g = LABEL_SIZE
    n_colors = image.shape[2]
    last = g - 1
    for b in range(b0, b1):
        p = np.int64(ring_pixels[b])
        y = p // g
        x = p - y * g
        row = rows[y + 1]
        left = (row >> x) & 1
        right = (row >> (x + 2)) & 1
        # the clamped rows above and below (the padding rows are refreshed after the loop)
        up = (rows[y + np.int64(y == 0)] >> (x + 1)) & 1
        down = (rows[y + 2 - np.int64(y == last)] >> (x + 1)) & 1
        mixed = (left ^ right) | (left ^ up) | (left ^ down)
        e0 = np.float32(0.0)
        e1 = np.float32(0.0)
        for z in range(n_colors):
            v = image[y0 + y, x0 + x, z]
            d = means[0, z] - v
            e0 += d * d
            d = means[1, z] - v
            e1 += d * d
        # the other segment wins only if strictly closer
        other_closer = (left & np.int64(e0 < e1)) | ((1 - left) & np.int64(e1 < e0))
        label = left ^ (mixed & other_closer)
        bit = (np.int64(1) << (x + 1)) | np.int64(x == 0) | (np.int64(x == last) << (g + 1))
        rows[y + 1] = (row & ~bit) | (bit * label)
    rows[0] = rows[1]
    rows[g + 1] = rows[g]


@njit(cache=True, nogil=True)
def _add_two_segment_boundary(rows, ring_pixels, b0, b1, out, oy, ox, mask):
    """Add 1 to ``out`` at the ring pixels ``b0 .. b1`` that differ from a 4-neighbour."""
    g = LABEL_SIZE
    for y in range(g):
        mask[y] = 0
    for b in range(b0, b1):
        p = np.int64(ring_pixels[b])
        mask[p // g] |= np.int64(1) << (p % g)
    full = (np.int64(1) << g) - 1
    for y in range(g):
        row = rows[y + 1]
        own = (row >> 1) & full
        diff = ((own ^ row) | (own ^ (row >> 2)) | (own ^ (rows[y] >> 1))
                | (own ^ (rows[y + 2] >> 1))) & mask[y]
        while diff != 0:
            low = diff & -diff
            x = _DE_BRUIJN_BIT[((low * _DE_BRUIJN) & 0xFFFFFFFF) >> 27]
            out[oy + y, ox + x] += 1.0
            diff ^= low


@njit(cache=True, nogil=True)
def _colour_distance3(means, s, v0, v1, v2):
    """Squared distance (float32) of colour (v0, v1, v2) to segment ``s``'s mean, summed in
    channel order."""
    d = means[s, 0] - v0
    e = np.float32(0.0) + d * d
    d = means[s, 1] - v1
    e += d * d
    d = means[s, 2] - v2
    e += d * d
    return e


@njit(cache=True, nogil=True)
def _sharpen_segments(seg, leaf_seg, m, ring_pixels, b0, b1, b2, image, y0, x0, means, counts,
                      neighbours, out, oy, ox):
    """Sharpen a mask of ``m`` >= 3 segments and add its boundary to ``out``.

    The mask (``leaf_seg``, flat, copied into ``seg``) gets the segments' mean colours (every
    other pixel); the ring pixels ``b0 .. b1`` take, in ring order, the segment of closest mean
    colour among their 4 neighbours' (the first of them on a tie: the neighbours' common
    segment when they agree); ``out`` gets 1 at the ring pixels ``b0 .. b2`` that then differ
    from a 4-neighbour. ``image``: (H, W, 3) float32."""
    g = LABEL_SIZE
    seg[:] = leaf_seg
    _clear_colour_model(means, counts, m)
    for y in range(0, g, 2):
        for x in range(0, g, 2):
            s = seg[y * g + x]
            counts[s] += 1.0
            for z in range(image.shape[2]):
                means[s, z] += image[y0 + y, x0 + x, z]
    _finish_colour_model(means, counts, m)
    for b in range(b0, b1):
        p = np.int64(ring_pixels[b])
        py = y0 + p // g
        px = x0 + p % g
        a0 = seg[neighbours[p, 0]]
        a1 = seg[neighbours[p, 1]]
        a2 = seg[neighbours[p, 2]]
        a3 = seg[neighbours[p, 3]]
        if a0 == a1 and a0 == a2 and a0 == a3:
            seg[p] = a0
            continue
        v0 = image[py, px, 0]
        v1 = image[py, px, 1]
        v2 = image[py, px, 2]
        best_s = a0
        best_e = _colour_distance3(means, a0, v0, v1, v2)
        e = _colour_distance3(means, a1, v0, v1, v2)
        closer = e < best_e
        best_e = e if closer else best_e
        best_s = a1 if closer else best_s
        e = _colour_distance3(means, a2, v0, v1, v2)
        closer = e < best_e
        best_e = e if closer else best_e
        best_s = a2 if closer else best_s
        e = _colour_distance3(means, a3, v0, v1, v2)
        best_s = a3 if e < best_e else best_s
        seg[p] = best_s
    for b in range(b0, b2):
        p = np.int64(ring_pixels[b])
        s = seg[p]
        if (s != seg[neighbours[p, 0]] or s != seg[neighbours[p, 1]]
                or s != seg[neighbours[p, 2]] or s != seg[neighbours[p, 3]]):
            out[oy + p // g, ox + p % g] += 1.0


@njit(cache=True, nogil=True)
def _accumulate_sharpen(leaves, ring_pixels, ring_starts, segs, nsegs, leaf_rows, image, stride,
                        offset, sharpen):
    """Boundary counts of the sharpened leaf masks (``image``: the smoothed (H, W, 3) float32
    colours the masks snap to)."""
    if image.shape[2] != 3:
        raise ValueError("sharpening needs a 3-channel image")
    g = LABEL_SIZE
    h1, w1, n_eval = leaves.shape
    n_colors = image.shape[2]
    out = np.zeros((h1 * stride + g, w1 * stride + g), np.float32)
    seg = np.empty(g * g, np.uint8)
    segs_flat = segs.reshape(segs.shape[0], g * g)
    means = np.zeros((256, n_colors), np.float32)
    counts = np.zeros(256, np.float32)
    neighbours = np.empty((g * g, 4), np.int32)
    for y in range(g):
        for x in range(g):
            i = y * g + x
            neighbours[i, 0] = i - 1 if x > 0 else i
            neighbours[i, 1] = i + 1 if x < g - 1 else i
            neighbours[i, 2] = i - g if y > 0 else i
            neighbours[i, 3] = i + g if y < g - 1 else i
    rows = np.empty(g + 2, np.int64)
    mask = np.empty(g, np.int64)
    ring_starts_flat = ring_starts.ravel()
    leaf_rows_flat = leaf_rows.ravel()
    for r in range(h1):
        for c in range(w1):
            y0 = r * stride + offset
            x0 = c * stride + offset
            # the leaves' tables are far larger than the caches and read at random: start
            # loading those of the windows two and one steps ahead (the ring pixels once their
            # start is known), so their latency overlaps this window's work
            if c + 2 < w1:
                for t in range(n_eval):
                    ahead = leaves[r, c + 2, t]
                    _prefetch(nsegs, ahead)
                    _prefetch(ring_starts_flat, ahead * ring_starts.shape[1])
                    _prefetch(leaf_rows_flat, ahead * leaf_rows.shape[1])
            if c + 1 < w1:
                for t in range(n_eval):
                    ahead = leaves[r, c + 1, t]
                    if nsegs[ahead] > 1:
                        _prefetch(ring_pixels, ring_starts[ahead, 0])
                        _prefetch(ring_pixels, ring_starts[ahead, 0] + 64)
                    if nsegs[ahead] > 2:
                        for line in range(0, g * g, 64):
                            _prefetch(segs_flat[ahead], line)
            for t in range(n_eval):
                leaf = leaves[r, c, t]
                m = nsegs[leaf]
                if m == 1:
                    continue
                if m == 2:  # the common case, on bit rows
                    _load_padded_rows(leaf_rows[leaf], rows)
                    _two_segment_colour_model(rows, image, y0, x0, means, counts)
                    _snap_two_segments(rows, ring_pixels, ring_starts[leaf, 0],
                                       ring_starts[leaf, sharpen], image, y0, x0, means)
                    _add_two_segment_boundary(rows, ring_pixels, ring_starts[leaf, 0],
                                              ring_starts[leaf, sharpen + 1], out,
                                              r * stride, c * stride, mask)
                    continue
                _sharpen_segments(seg, segs_flat[leaf], m, ring_pixels, ring_starts[leaf, 0],
                                  ring_starts[leaf, sharpen], ring_starts[leaf, sharpen + 1],
                                  image, y0, x0, means, counts, neighbours, out, r * stride,
                                  c * stride)
    return out


def _row_bands(n_rows: int, threads: int) -> list[tuple[int, int]]:
    """Split ``n_rows`` window rows into at most ``threads`` bands ``[start, stop)`` of nearly
    equal size; every band but the last has an even number of rows, so that each band starts
    on an even row (the tree a window uses depends on the parity of its row)."""
    if threads <= 1 or n_rows < 4:
        return [(0, n_rows)]
    size = max(2, -(-n_rows // threads))
    size += size % 2
    return [(start, min(start + size, n_rows)) for start in range(0, n_rows, size)]


def _banded_edge_counts(stack, feature_a, feature_b, h1, w1, forest, n_eval, smooth, sharpen,
                        bands):
    """Boundary counts (float32, ``(h1 * STRIDE + LABEL_SIZE, w1 * STRIDE + LABEL_SIZE)``) of the
    windows in the row ``bands``, each band computed by its own kernel calls.

    The counts are sums of ones, exact in float32 in any order, so the result does not depend
    on the bands."""
    chn_w = stack.shape[2]
    stack_flat = stack.ravel()
    offset = (PATCH_SIZE - LABEL_SIZE) // 2

    def band_counts(start, stop):
        # the kernels see the band as rows 0..stop-start: the channels, the image and the
        # output are shifted by the band's first row
        leaves = _apply_forest(stack_flat[start * chn_w:], feature_a, feature_b, chn_w,
                               stop - start, w1, forest.node_words, forest.node_thresholds,
                               forest.table_roots, n_eval)
        if sharpen == 0:
            return _accumulate(leaves, forest.ring_pixels, forest.ring_starts, STRIDE)
        return _accumulate_sharpen(leaves, forest.ring_pixels, forest.ring_starts,
                                   forest.leaf_segs, forest.leaf_nsegs, forest.leaf_rows,
                                   smooth[start * STRIDE:], STRIDE, offset, sharpen)

    if len(bands) == 1:
        return band_counts(*bands[0])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(bands)) as pool:
        parts = list(pool.map(lambda band: band_counts(*band), bands))
    counts = np.zeros((h1 * STRIDE + LABEL_SIZE, w1 * STRIDE + LABEL_SIZE), np.float32)
    for (start, _), part in zip(bands, parts):
        counts[start * STRIDE:start * STRIDE + part.shape[0]] += part
    return counts


def _detect_single_scale(rgb: np.ndarray, forest: EdgeForest, sharpen: int,
                         threads: int = 1) -> np.ndarray:
    """Soft edge map (float32, (H, W), clipped to [0, 1]) of one scale, before NMS; the forest
    and the accumulation run on ``threads`` bands of rows at once (same result)."""
    height, width = rgb.shape[:2]
    pad = PATCH_SIZE // 2
    extra_h = (4 - (height + 2 * pad) % 4) % 4
    extra_w = (4 - (width + 2 * pad) % 4) % 4
    padded = np.pad(rgb, ((pad, pad + extra_h), (pad, pad + extra_w), (0, 0)), mode="symmetric")
    stack = channel_stack(padded)
    _, chn_h, chn_w = stack.shape
    h1 = (padded.shape[0] - PATCH_SIZE + STRIDE - 1) // STRIDE
    w1 = (padded.shape[1] - PATCH_SIZE + STRIDE - 1) // STRIDE
    feature_a, feature_b = stack_feature_offsets(chn_h, chn_w)
    n_eval = min(N_TREES_EVAL, forest.n_trees)
    smooth = conv_tri(padded, 1) if sharpen else None
    acc = _banded_edge_counts(stack, feature_a, feature_b, h1, w1, forest, n_eval, smooth,
                              sharpen, _row_bands(h1, threads))
    gain = STRIDE ** 2 / LABEL_SIZE ** 2 / n_eval * SHARPEN_GAIN[sharpen]
    half = LABEL_SIZE // 2
    edges = acc[half:half + height, half:half + width] * np.float32(gain)
    edges = conv_tri(edges, 1)
    return np.clip(edges, 0.0, 1.0).astype(np.float32)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    if image.shape[0] == height and image.shape[1] == width:
        return image
    shrinking = height < image.shape[0] and width < image.shape[1]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    out = cv2.resize(image, (width, height), interpolation=interp)
    if image.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out.astype(np.float32)


def detect_edges(image: np.ndarray, model: EdgeForest | str | Path | None = None,
                 multiscale: bool = False, sharpen: int = 2,
                 nms: bool = True, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Detect edges with the structured edge forest.

    Parameters
    ----------
    image : ndarray
        (H, W) grayscale (replicated to RGB), (H, W, 3) RGB or (H, W, 4) RGBA (alpha
        dropped); uint8, uint16, or float with values in [0, 1]. Any size from 1x1.
    model : EdgeForest, str, Path or None
        The forest; ``None`` uses the shipped BSDS500 model (loaded once, cached).
    multiscale : bool
        Average the soft edge maps computed at scales 0.5, 1 and 2.
    sharpen : int
        Edge sharpening amount in pixels, 0, 1 or 2 (default 2, as the original).
    nms : bool
        Thin edges by non-maximum suppression along the orientation (and damp the
        5-pixel image border), as Dollar's edgesNms.
    threads : int
        The forest and the accumulation of each scale run on this many bands of rows at once,
        one thread each (the kernels release the GIL). The result does not depend on it.

    Returns
    -------
    edges : ndarray, float32, (H, W), values in [0, 1]
    orientation : ndarray, float32, (H, W), values in [0, pi)
        Angle of the edge normal from the +x axis (columns) towards +y (rows, down):
        a vertical edge has orientation near 0 (or near pi), a horizontal one near pi/2.

    Raises
    ------
    ValueError
        For an unsupported image (dtype, shape, empty, float range), ``sharpen`` or
        ``threads``.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> from mcg import detect_edges
    >>> edges, orientation = detect_edges(astronaut())  # (512, 512, 3) uint8 RGB in
    >>> edges.shape, edges.dtype, orientation.dtype
    ((512, 512), dtype('float32'), dtype('float32'))
    """
    if sharpen not in (0, 1, 2) or isinstance(sharpen, bool):
        raise ValueError(f"sharpen must be 0, 1 or 2, not {sharpen!r}")
    check_threads(threads)
    rgb = as_rgb_float(image)
    forest = load_model(model)
    if N_RINGS < sharpen + 1:
        raise ValueError(f"model supports sharpening of at most {N_RINGS - 1} pixels")
    height, width = rgb.shape[:2]
    if multiscale:
        total = np.zeros((height, width), np.float32)
        for factor in MULTISCALE_FACTORS:
            h_s = max(1, int(round(height * factor)))
            w_s = max(1, int(round(width * factor)))
            scaled = np.clip(_resize(rgb, h_s, w_s), 0.0, 1.0)
            edges_s = _detect_single_scale(scaled, forest, sharpen, threads)
            total += _resize(edges_s, height, width)
        edges = np.clip(total / len(MULTISCALE_FACTORS), 0.0, 1.0).astype(np.float32)
    else:
        edges = _detect_single_scale(rgb, forest, sharpen, threads)
    orientation = edge_orientation(edges)
    if nms:
        edges = edge_nms(edges, orientation)
    return edges, orientation
