"""Image reading and validation at the edge of the system (OpenCV reads BGR; we use RGB)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB.

    Parameters
    ----------
    path : str or Path
        Image file (any format OpenCV decodes: JPEG, PNG, TIFF, BMP, WebP, ...): a local path,
        or a URL ``protocol://...`` read with fsspec (:mod:`mcg.storage`).

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 RGB image (OpenCV's ``cv2.imread`` gives BGR: this function does not).
        Grayscale files are replicated to 3 channels, an alpha channel is dropped, 16-bit files
        are scaled to 8 bits. EXIF orientation is not applied (as ``cv2.IMREAD_UNCHANGED``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file exists but is not a complete, readable image (a truncated JPEG or PNG is
        refused, not decoded as a partly grey picture).

    Examples
    --------
    >>> from mcg.io import read_image
    >>> image = read_image("photo.jpg")  # doctest: +SKIP
    >>> image.shape, image.dtype  # doctest: +SKIP
    ((480, 640, 3), dtype('uint8'))
    """
    from mcg import storage

    data = storage.read_bytes(path)
    problem = _truncation(data)
    if problem is not None:
        raise ValueError(f"cannot read image ({problem}): {path}")
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if raw is None or raw.size == 0:
        raise ValueError(f"cannot read image (corrupt or unsupported format): {path}")
    if raw.dtype == np.uint16:
        raw = (raw.astype(np.float64) / 257.0).round().astype(np.uint8)
    elif raw.dtype != np.uint8:
        raise ValueError(f"unsupported pixel type {raw.dtype} in image {path}")
    if raw.ndim == 2:
        return np.repeat(raw[:, :, None], 3, axis=2)
    if raw.shape[2] == 4:
        raw = raw[:, :, :3]
    if raw.shape[2] == 1:
        return np.repeat(raw, 3, axis=2)
    return np.ascontiguousarray(raw[:, :, ::-1])


_JPEG_START = b"\xff\xd8"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _truncation(data: bytes) -> str | None:
    """Why a JPEG or PNG file is incomplete, or None (other formats are left to the decoder).

    A JPEG must end its last scan with an end-of-image marker: inside entropy-coded data a
    0xFF byte is always followed by 0x00 or a restart marker, so neither the start-of-scan
    marker (FFDA) nor the end-of-image marker (FFD9) can occur there by chance. A PNG must hold
    its IEND chunk.
    """
    if data.startswith(_JPEG_START):
        last_scan = data.rfind(b"\xff\xda")
        if last_scan < 0 or data.rfind(b"\xff\xd9") < last_scan:
            return "truncated JPEG: no end-of-image marker after its last scan"
    elif data.startswith(_PNG_SIGNATURE) and data.rfind(b"IEND") < 0:
        return "truncated PNG: no IEND chunk"
    return None


def default_image() -> tuple[str, np.ndarray]:
    """The embedded default image: scikit-image's ``astronaut`` sample (512 x 512 RGB).

    Returns
    -------
    name : str
        File stem used for outputs (``"astronaut"``).
    image : numpy.ndarray
        (512, 512, 3) uint8 RGB image.
    """
    from skimage import data

    return "astronaut", np.ascontiguousarray(data.astronaut()[:, :, :3])
