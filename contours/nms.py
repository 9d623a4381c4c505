"""Edge orientation and non-maximum suppression for structured-forest edge maps."""
from __future__ import annotations

import numpy as np
from numba import njit

from contours.channels import conv_tri


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
    oy, ox = np.gradient(smoothed)
    oxx = np.gradient(ox, axis=1)
    oxy = np.gradient(oy, axis=1)
    oyy = np.gradient(oy, axis=0)
    angle = np.mod(np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5)), np.pi)
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
