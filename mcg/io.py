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
        Image file (any format OpenCV reads: JPEG, PNG, TIFF, BMP, ...).

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 RGB image. Grayscale files are replicated to 3 channels, an alpha channel
        is dropped, 16-bit files are scaled to 8 bits.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file exists but is not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
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
