"""Feature channels of the structured edge forest.

Thirteen channels at half resolution, following Dollar & Zitnick (ICCV 2013):
3 CIE-LUV colour channels, then for each of two gradient scales (full and half
resolution) the normalized gradient magnitude and 4 oriented gradient
histograms.  All images here are float32 arrays laid out as (H, W, C).
"""
from __future__ import annotations

import cv2
import numpy as np
from numba import njit

N_ORIENTS = 4
SHRINK = 2
N_CHANNELS = 3 + 2 * (1 + N_ORIENTS)
GRADIENT_NORM_RADIUS = 4
GRADIENT_NORM_CONST = 0.01
REG_SMOOTH = 2  # channel smoothing radius at full resolution (divided by SHRINK)
SIM_SMOOTH = 8  # self-similarity smoothing radius at full resolution (divided by SHRINK)


def conv_tri(image: np.ndarray, radius: int) -> np.ndarray:
    """Separable triangle filter with symmetric (edge-including) border padding.

    Parameters
    ----------
    image : ndarray, float32, (H, W) or (H, W, C)
    radius : int
        Filter radius r >= 0; the 1D kernel is [1, 2, ..., r+1, ..., 2, 1] / (r+1)^2.
        ``radius == 0`` returns the input unchanged.

    Returns
    -------
    ndarray, float32, same shape as ``image``.
    """
    image = np.ascontiguousarray(image, dtype=np.float32)
    if radius <= 0:
        return image
    kernel = np.concatenate([np.arange(1, radius + 2), np.arange(radius, 0, -1)]).astype(np.float32)
    kernel /= kernel.sum()
    height, width = image.shape[:2]
    if height <= radius or width <= radius:
        # cv2 reflection needs the image to be larger than the kernel radius: pad explicitly.
        pad = [(radius, radius), (radius, radius)] + [(0, 0)] * (image.ndim - 2)
        padded = np.pad(image, pad, mode="symmetric")
        return conv_tri(padded, radius)[radius:radius + height, radius:radius + width].copy()
    if image.ndim == 2:
        return cv2.sepFilter2D(image, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    out = np.empty_like(image)
    for channel in range(image.shape[2]):
        out[:, :, channel] = cv2.sepFilter2D(
            np.ascontiguousarray(image[:, :, channel]), cv2.CV_32F, kernel, kernel,
            borderType=cv2.BORDER_REFLECT)
    return out


def rgb_to_luv(rgb: np.ndarray) -> np.ndarray:
    """Convert RGB in [0, 1] to the scaled LUV used by the edge forest.

    L is CIE lightness / 270, u and v are offset by 88/270 and 134/270 so that all
    three lie roughly in [0, 1] (the RGB values are used without gamma removal,
    as in Dollar's toolbox).

    Parameters
    ----------
    rgb : ndarray, float32, (H, W, 3), values in [0, 1]

    Returns
    -------
    ndarray, float32, (H, W, 3)
    """
    rgb = rgb.astype(np.float32, copy=False)
    matrix = np.array([[0.430574, 0.341550, 0.178325],
                       [0.222015, 0.706655, 0.071330],
                       [0.020183, 0.129553, 0.939180]], dtype=np.float32)
    xyz = rgb @ matrix.T
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    y0 = (6.0 / 29.0) ** 3
    a = (29.0 / 3.0) ** 3
    lightness = np.where(y > y0, 116.0 * np.cbrt(np.maximum(y, 0)) - 16.0, y * a) / 270.0
    denom = 1.0 / (x + 15.0 * y + 3.0 * z + 1e-35)
    u = lightness * (13.0 * 4.0 * x * denom - 13.0 * 0.197833) + 88.0 / 270.0
    v = lightness * (13.0 * 9.0 * y * denom - 13.0 * 0.468331) + 134.0 / 270.0
    return np.stack([lightness, u, v], axis=-1).astype(np.float32)


@njit(cache=True, nogil=True)
def _gradient_kernel(image):
    height, width, n_channels = image.shape
    magnitude = np.zeros((height, width), np.float32)
    orientation = np.zeros((height, width), np.float32)
    for y in range(height):
        ya = y - 1 if y > 0 else 0
        yb = y + 1 if y < height - 1 else height - 1
        ys = np.float32(1.0) if (yb - ya) == 1 else np.float32(0.5)
        for x in range(width):
            xa = x - 1 if x > 0 else 0
            xb = x + 1 if x < width - 1 else width - 1
            xs = np.float32(1.0) if (xb - xa) == 1 else np.float32(0.5)
            best = np.float32(-1.0)
            best_gx = np.float32(0.0)
            best_gy = np.float32(0.0)
            for c in range(n_channels):
                gx = (image[y, xb, c] - image[y, xa, c]) * xs
                gy = (image[yb, x, c] - image[ya, x, c]) * ys
                if xb == xa:
                    gx = np.float32(0.0)
                if yb == ya:
                    gy = np.float32(0.0)
                m2 = gx * gx + gy * gy
                if m2 > best:
                    best = m2
                    best_gx = gx
                    best_gy = gy
            magnitude[y, x] = np.sqrt(best)
            angle = np.arctan2(best_gy, best_gx)
            if angle < 0:
                angle += np.pi
            if angle >= np.pi:
                angle -= np.pi
            orientation[y, x] = angle
    return magnitude, orientation


def gradient_magnitude(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalized gradient magnitude and orientation (channel of largest gradient).

    Central differences in the interior, one-sided differences on the border; the
    magnitude is divided by its triangle-smoothed value (radius 4) plus 0.01.

    Parameters
    ----------
    image : ndarray, float32, (H, W, C)

    Returns
    -------
    magnitude : ndarray, float32, (H, W)
    orientation : ndarray, float32, (H, W), gradient angle modulo pi in [0, pi),
        measured from the +x (column) axis towards +y (row, downwards).
    """
    magnitude, orientation = _gradient_kernel(np.ascontiguousarray(image, dtype=np.float32))
    smoothed = conv_tri(magnitude, GRADIENT_NORM_RADIUS)
    magnitude = magnitude / (smoothed + np.float32(GRADIENT_NORM_CONST))
    return magnitude.astype(np.float32), orientation


@njit(cache=True, nogil=True)
def _gradient_hist_kernel(magnitude, orientation, bin_size, n_orients):
    height, width = magnitude.shape
    out_h = height // bin_size
    out_w = width // bin_size
    hist = np.zeros((out_h, out_w, n_orients), np.float32)
    norm = np.float32(1.0 / (bin_size * bin_size))
    scale = np.float32(n_orients / np.pi)
    for y in range(out_h * bin_size):
        by = y // bin_size
        for x in range(out_w * bin_size):
            bx = x // bin_size
            o = orientation[y, x] * scale
            o0 = int(np.floor(o))
            od = o - o0
            o0 = o0 % n_orients
            o1 = (o0 + 1) % n_orients
            m = magnitude[y, x] * norm
            hist[by, bx, o0] += m * (np.float32(1.0) - od)
            hist[by, bx, o1] += m * od
    return hist


def gradient_histogram(magnitude: np.ndarray, orientation: np.ndarray, bin_size: int,
                       n_orients: int = N_ORIENTS) -> np.ndarray:
    """Oriented gradient histogram: hard spatial bins, linear interpolation in angle.

    Parameters
    ----------
    magnitude, orientation : ndarray, float32, (H, W)
    bin_size : int
        Spatial bin size; the output is (H // bin_size, W // bin_size, n_orients),
        each bin holding the mean over its bin_size x bin_size block.
    n_orients : int

    Returns
    -------
    ndarray, float32, (H // bin_size, W // bin_size, n_orients)
    """
    return _gradient_hist_kernel(np.ascontiguousarray(magnitude, dtype=np.float32),
                                 np.ascontiguousarray(orientation, dtype=np.float32),
                                 int(bin_size), int(n_orients))


@njit(cache=True, nogil=True)
def _block_means(image, pairwise):
    """Means of the 2x2 blocks of a float32 (H, W, C) image (H, W even). The four values are
    added as numpy's ``mean`` over the block axes adds them, for the same bits:
    ``(a + b) + (c + d)`` for one channel (``pairwise``), ``((a + b) + c) + d`` for several
    (a, b the block's top row, c, d its bottom row)."""
    height, width, n_channels = image.shape
    out = np.empty((height // 2, width // 2, n_channels), np.float32)
    quarter = np.float32(4.0)
    for y in range(height // 2):
        for x in range(width // 2):
            for k in range(n_channels):
                a = image[2 * y, 2 * x, k]
                b = image[2 * y, 2 * x + 1, k]
                c = image[2 * y + 1, 2 * x, k]
                d = image[2 * y + 1, 2 * x + 1, k]
                if pairwise:
                    out[y, x, k] = ((a + b) + (c + d)) / quarter
                else:
                    out[y, x, k] = (((a + b) + c) + d) / quarter
    return out


def downsample2(image: np.ndarray) -> np.ndarray:
    """Halve an image with even height and width by 2x2 block averaging.

    Parameters
    ----------
    image : ndarray, float32, (H, W) or (H, W, C), H and W even

    Returns
    -------
    ndarray, float32, (H/2, W/2) or (H/2, W/2, C)
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        return _block_means(np.ascontiguousarray(image)[:, :, None], True)[:, :, 0]
    return _block_means(np.ascontiguousarray(image), image.shape[2] == 1)


def compute_channels(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regular and self-similarity channels of an RGB image.

    Parameters
    ----------
    rgb : ndarray, float32, (H, W, 3), values in [0, 1]; H and W must be even.

    Returns
    -------
    chns_reg : ndarray, float32, (13, H/2, W/2)
        Channels smoothed with a triangle filter of radius 1 (half resolution).
    chns_sim : ndarray, float32, (13, H/2, W/2)
        Channels smoothed with a triangle filter of radius 4 (half resolution).
        Channel order: L, U, V, magnitude (scale 1), 4 orientations (scale 1),
        magnitude (scale 1/2), 4 orientations (scale 1/2).
    """
    stack = channel_stack(rgb)
    return stack[:N_CHANNELS], stack[N_CHANNELS:2 * N_CHANNELS]


def channel_stack(rgb: np.ndarray) -> np.ndarray:
    """Both channel sets of :func:`compute_channels` and a plane of zeros, in one buffer.

    The forest reads every feature of this buffer as ``stack[a] - stack[b]``, with ``b`` in
    the zero plane for a regular feature (no branch on the feature kind).

    Parameters
    ----------
    rgb : ndarray, float32, (H, W, 3), values in [0, 1]; H and W must be even.

    Returns
    -------
    ndarray, float32, (2 * 13 + 1, H/2, W/2), C-contiguous
        Regular channels, self-similarity channels, zeros.
    """
    height, width = rgb.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"edge channels need even image dimensions, got {height}x{width}")
    luv = rgb_to_luv(rgb)
    luv_half = downsample2(luv)
    planes = [luv_half[:, :, c] for c in range(luv_half.shape[2])]
    for scale in (1, 2):
        image = luv if scale == 1 else luv_half
        magnitude, orientation = gradient_magnitude(image)
        hist = gradient_histogram(magnitude, orientation, max(1, SHRINK // scale))
        if scale == 1:
            magnitude = downsample2(magnitude)
        planes.append(magnitude)
        planes.extend(hist[:, :, c] for c in range(hist.shape[2]))
    stack = np.empty((2 * N_CHANNELS + 1,) + planes[0].shape[:2], np.float32)
    # each channel smoothed on its own plane (as conv_tri does channel by channel), straight
    # into its slots of the stack
    for c, plane in enumerate(planes):
        plane = np.ascontiguousarray(plane, dtype=np.float32)
        stack[c] = conv_tri(plane, REG_SMOOTH // SHRINK)
        stack[N_CHANNELS + c] = conv_tri(plane, SIM_SMOOTH // SHRINK)
    stack[2 * N_CHANNELS] = 0.0
    return stack

