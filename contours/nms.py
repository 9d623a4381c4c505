"""Edge orientation and non-maximum suppression for structured-forest edge maps."""
from __future__ import annotations

import numpy as np
from numba import njit

from contours.channels import conv_tri


@njit(cache=True, nogil=True)
def _gradient_along(f, axis):
    """``np.gradient(f, axis=axis)`` of a 2-D float64 array (spacing 1, first-order edges):
    the same operations, so the same bits."""
    h, w = f.shape
    out = np.empty((h, w), np.float64)
    if axis == 0:
        for x in range(w):
            out[0, x] = (f[1, x] - f[0, x]) / 1.0
            out[h - 1, x] = (f[h - 1, x] - f[h - 2, x]) / 1.0
        for y in range(1, h - 1):
            for x in range(w):
                out[y, x] = (f[y + 1, x] - f[y - 1, x]) / 2.0
    else:
        for y in range(h):
            out[y, 0] = (f[y, 1] - f[y, 0]) / 1.0
            out[y, w - 1] = (f[y, w - 1] - f[y, w - 2]) / 1.0
            for x in range(1, w - 1):
                out[y, x] = (f[y, x + 1] - f[y, x - 1]) / 2.0
    return out


@njit(cache=True, nogil=True)
def _orientation_ratio(smoothed):
    """``Oyy * sign(-Oxy) / (Oxx + 1e-5)`` of a smoothed edge map (at least 2x2), the second
    derivatives as ``np.gradient`` gives them."""
    oy = _gradient_along(smoothed, 0)
    ox = _gradient_along(smoothed, 1)
    oxx = _gradient_along(ox, 1)
    oxy = _gradient_along(oy, 1)
    oyy = _gradient_along(oy, 0)
    h, w = smoothed.shape
    ratio = np.empty((h, w), np.float64)
    for y in range(h):
        for x in range(w):
            minus_oxy = -oxy[y, x]
            sign = 1.0 if minus_oxy > 0 else (-1.0 if minus_oxy < 0 else 0.0)
            ratio[y, x] = oyy[y, x] * sign / (oxx[y, x] + 1e-5)
    return ratio


def edge_orientation(edges: np.ndarray) -> np.ndarray:
    """Orientation of the edge normal estimated from second derivatives of the smoothed map.

    The edge map is smoothed with a triangle filter of radius 4, and the angle is
    ``atan(Oyy * sign(-Oxy) / (Oxx + 1e-5)) mod pi`` from its second derivatives
    (central differences, as in Dollar's edgesDetect).

    Parameters
    ----------
    edges : ndarray, float32, (H, W)

    Returns
    -------
    ndarray, float32, (H, W), in [0, pi)
        Angle of the edge *normal* (the direction across the edge) measured from the
        +x axis (columns, to the right) towards +y (rows, downwards). A vertical edge
        (intensity changing along x) has orientation near 0 (equivalently near pi);
        a horizontal edge has orientation near pi/2.
    """
    smoothed = conv_tri(edges.astype(np.float32), 4).astype(np.float64)
    if smoothed.shape[0] < 2 or smoothed.shape[1] < 2:
        return np.zeros(edges.shape, np.float32)
    angle = np.mod(np.arctan(_orientation_ratio(smoothed)), np.pi)
    angle = angle.astype(np.float32)
    angle[angle >= np.float32(np.pi)] = 0.0
    return angle


@njit(cache=True, nogil=True)
def _interp(image, x, y):
    height, width = image.shape
    if x < 0:
        x = 0.0
    if x > width - 1.001:
        x = width - 1.001
    if y < 0:
        y = 0.0
    if y > height - 1.001:
        y = height - 1.001
    x0 = int(x)
    y0 = int(y)
    x1 = min(x0 + 1, width - 1)
    y1 = min(y0 + 1, height - 1)
    dx = x - x0
    dy = y - y0
    return ((image[y0, x0] * (1 - dx) + image[y0, x1] * dx) * (1 - dy)
            + (image[y1, x0] * (1 - dx) + image[y1, x1] * dx) * dy)


@njit(cache=True, nogil=True)
def _nms_kernel(edges, orientation, radius, border, margin):
    height, width = edges.shape
    out = edges.copy()
    for y in range(height):
        for x in range(width):
            e = edges[y, x]
            if e == 0:
                continue
            e *= margin
            co = np.cos(orientation[y, x])
            si = np.sin(orientation[y, x])
            for d in range(-radius, radius + 1):
                if d == 0:
                    continue
                if e < _interp(edges, x + d * co, y + d * si):
                    out[y, x] = 0
                    break
    s = border
    if s > width // 2:
        s = width // 2
    if s > height // 2:
        s = height // 2
    for x in range(s):
        for y in range(height):
            out[y, x] *= x / s
            out[y, width - 1 - x] *= x / s
    for y in range(s):
        for x in range(width):
            out[y, x] *= y / s
            out[height - 1 - y, x] *= y / s
    return out


def edge_nms(edges: np.ndarray, orientation: np.ndarray, radius: int = 1, border: int = 5,
             margin: float = 1.01) -> np.ndarray:
    """Non-maximum suppression along the edge normal, with border suppression.

    A pixel is kept when ``margin * E`` is not smaller than the (bilinearly
    interpolated) edge value at distances 1..radius on both sides along the
    normal; values within ``border`` pixels of the image border are damped
    linearly to 0 at the border (as in Dollar's edgesNms).

    Parameters
    ----------
    edges : ndarray, float32, (H, W)
    orientation : ndarray, float32, (H, W), normal angle (see :func:`edge_orientation`)
    radius, border : int
    margin : float

    Returns
    -------
    ndarray, float32, (H, W)
    """
    if edges.shape != orientation.shape or edges.ndim != 2:
        raise ValueError(f"edge_nms needs two (H, W) arrays of equal shape, got "
                         f"{edges.shape} and {orientation.shape}")
    return _nms_kernel(np.ascontiguousarray(edges, dtype=np.float32),
                       np.ascontiguousarray(orientation, dtype=np.float32),
                       int(radius), int(border), np.float32(margin))
