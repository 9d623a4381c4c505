"""Readers for the BSDS500 benchmark: ground truth and machine results.

Supported result formats (one file per image, named ``<image id>.<ext>``):

* ``.mat`` with variable ``ucm2`` (an ultrametric contour map in the BSDS
  "double size" format, ``(2H+1) x (2W+1)``) or with a cell ``segs`` of label
  images (one segmentation per "threshold").
* ``.png`` (also ``.jpg``/``.bmp``/``.tif``): a soft or hard boundary map; 8-bit
  values are divided by 255 as in the original benchmark (16-bit by 65535).
* ``.npy``: an ``H x W`` float boundary map in [0, 1], or a ``(2H+1) x (2W+1)``
  ucm2 (told apart by comparing with the ground-truth size), or an
  ``(N, H, W)`` integer stack of segmentations.
* ``.npz``: key ``ucm2``, ``boundaries`` or ``segs``.

Ground truth: the BSDS ``groundTruth`` ``.mat`` files (a cell of structs with
``Segmentation`` and ``Boundaries``).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

RESULT_EXTENSIONS = (".mat", ".png", ".npy", ".npz", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

#: Kinds of machine result.
KIND_UCM2 = "ucm2"
KIND_SEGS = "segs"
KIND_BOUNDARIES = "boundaries"


@dataclass
class GroundTruth:
    """Human annotations of one image.

    Attributes
    ----------
    segmentations : list of ndarray
        One ``(H, W)`` integer label image per human (labels from 1).
    boundaries : list of ndarray
        One ``(H, W)`` bool boundary map per human.
    """

    segmentations: list
    boundaries: list

    @property
    def shape(self) -> tuple:
        return self.boundaries[0].shape


@dataclass
class MachineResult:
    """A machine result for one image.

    Attributes
    ----------
    kind : str
        ``"ucm2"`` (``data`` is a ``(2H+1, 2W+1)`` float64 array), ``"segs"``
        (``data`` is a list of ``(H, W)`` integer label images) or
        ``"boundaries"`` (``data`` is an ``(H, W)`` float64 boundary map).
    data : ndarray or list of ndarray
    """

    kind: str
    data: object

    @property
    def image_shape(self) -> tuple:
        """``(H, W)`` of the image the result describes."""
        if self.kind == KIND_UCM2:
            rows, cols = self.data.shape
            return ((rows - 1) // 2, (cols - 1) // 2)
        if self.kind == KIND_SEGS:
            return tuple(self.data[0].shape)
        return tuple(self.data.shape)


def _loadmat(path: Path) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path))
    except NotImplementedError as exc:  # MATLAB v7.3 files are HDF5
        raise ValueError(f"{path}: MATLAB v7.3 (HDF5) .mat files are not supported; "
                         f"save with -v7 or convert to .npz ({exc})") from None
    except Exception as exc:  # scipy raises several types on corrupt files
        raise ValueError(f"{path}: cannot read .mat file ({type(exc).__name__}: {exc})") from None


def _cell_items(cell) -> list:
    """Elements of a MATLAB cell array as read by scipy (column-major order)."""
    arr = np.asarray(cell)
    if arr.dtype != object:
        return [arr]
    return [item for item in arr.ravel(order="F")]


def load_ground_truth(path: str | os.PathLike) -> GroundTruth:
    """Read a BSDS ``groundTruth`` ``.mat`` file.

    Parameters
    ----------
    path : path-like
        File holding a cell ``groundTruth`` of structs with fields
        ``Segmentation`` ((H, W) labels) and ``Boundaries`` ((H, W) 0/1).

    Returns
    -------
    GroundTruth
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ground-truth file not found: {path}")
    mat = _loadmat(path)
    if "groundTruth" not in mat:
        raise ValueError(f"{path}: no variable 'groundTruth' in the .mat file")
    segmentations, boundaries = [], []
    for item in _cell_items(mat["groundTruth"]):
        if isinstance(item, np.ndarray) and item.dtype == object and item.size == 1:
            item = item.ravel()[0]
        names = item.dtype.names if isinstance(item, np.ndarray) else None
        if not names or "Segmentation" not in names or "Boundaries" not in names:
            raise ValueError(f"{path}: groundTruth entries must have Segmentation and Boundaries")
        seg = np.asarray(item["Segmentation"].ravel()[0])
        bdry = np.asarray(item["Boundaries"].ravel()[0])
        if seg.ndim != 2 or bdry.shape != seg.shape:
            raise ValueError(f"{path}: Segmentation {seg.shape} and Boundaries {bdry.shape} "
                             "must be 2-D of the same size")
        segmentations.append(seg.astype(np.int64))
        boundaries.append(bdry != 0)
    if not segmentations:
        raise ValueError(f"{path}: empty groundTruth cell")
    shapes = {s.shape for s in segmentations}
    if len(shapes) != 1:
        raise ValueError(f"{path}: ground-truth segmentations differ in size: {sorted(shapes)}")
    return GroundTruth(segmentations, boundaries)


def _segs_from_stack(segs, path) -> list:
    if isinstance(segs, np.ndarray) and segs.dtype != object:
        if segs.ndim == 2:
            segs = [segs]
        elif segs.ndim == 3:
            segs = [segs[i] for i in range(segs.shape[0])]
        else:
            raise ValueError(f"{path}: segs must be (N, H, W), got shape {segs.shape}")
    else:
        segs = _cell_items(segs)
    out = []
    for s in segs:
        s = np.asarray(s)
        if s.ndim != 2:
            raise ValueError(f"{path}: each segmentation in segs must be 2-D, got {s.shape}")
        if s.dtype.kind == "f":
            if not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
                raise ValueError(f"{path}: segmentation labels must be integers")
        elif s.dtype.kind not in "iub":
            raise ValueError(f"{path}: segmentation labels must be integers, got {s.dtype}")
        if s.size and s.min() < 0:
            raise ValueError(f"{path}: segmentation labels must be >= 0")
        out.append(s.astype(np.int64))
    if not out:
        raise ValueError(f"{path}: segs holds no segmentation")
    if len({s.shape for s in out}) != 1:
        raise ValueError(f"{path}: segmentations in segs differ in size")
    return out


def _as_float_map(arr, path, name) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise ValueError(f"{path}: {name} must be a 2-D array, got shape {arr.shape}")
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{path}: {name} must be numeric, got {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{path}: {name} contains NaN or infinite values")
    return arr


def classify_array(arr: np.ndarray, image_shape: Sequence[int] | None, path="array") -> MachineResult:
    """Wrap an in-memory 2-D array as a ucm2 or a boundary map.

    Parameters
    ----------
    arr : ndarray
        ``(2H+1, 2W+1)`` ucm2 or ``(H, W)`` boundary map.
    image_shape : (int, int) or None
        ``(H, W)`` of the ground truth; decides between ucm2 and boundary map and
        checks the size. When None the array is taken as a boundary map.
    path : str
        Name used in error messages.
    """
    arr = _as_float_map(arr, path, "result")
    if image_shape is not None:
        h, w = image_shape
        if arr.shape == (2 * h + 1, 2 * w + 1):
            return MachineResult(KIND_UCM2, arr)
        if arr.shape == (h, w):
            return MachineResult(KIND_BOUNDARIES, arr)
        raise ValueError(f"{path}: result size {arr.shape[0]}x{arr.shape[1]} matches neither the "
                         f"ground truth {h}x{w} nor its ucm2 size {2 * h + 1}x{2 * w + 1}")
    return MachineResult(KIND_BOUNDARIES, arr)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            arr = np.asarray(im)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read image ({type(exc).__name__}: {exc})") from None
    if arr.ndim == 3:
        if arr.shape[2] in (3, 4) and np.all(arr[..., 0] == arr[..., 1]) \
                and np.all(arr[..., 0] == arr[..., 2]):
            arr = arr[..., 0]
        else:
            raise ValueError(f"{path}: boundary image must be grayscale, got {arr.shape[2]} channels")
    if arr.dtype == np.uint8 or arr.dtype == bool:
        return arr.astype(np.float64) / (1.0 if arr.dtype == bool else 255.0)
    if arr.dtype == np.uint16 or arr.dtype == np.int32:  # PIL gives I;16 / I as these
        return arr.astype(np.float64) / 65535.0
    return arr.astype(np.float64)


def load_result(path: str | os.PathLike, image_shape: Sequence[int] | None = None) -> MachineResult:
    """Read one machine result file.

    Parameters
    ----------
    path : path-like
        ``.mat`` (``ucm2`` or ``segs``), ``.png``/image, ``.npy`` or ``.npz``.
    image_shape : (int, int), optional
        ``(H, W)`` of the ground truth; used to tell a ucm2 ``.npy`` from a
        boundary map and to check sizes.

    Returns
    -------
    MachineResult

    Raises
    ------
    ValueError
        Unknown extension, corrupt file, missing variable, or a size mismatch
        with ``image_shape`` (the message names the file and both sizes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"result file not found: {path}")
    ext = path.suffix.lower()
    if ext == ".mat":
        mat = _loadmat(path)
        if "ucm2" in mat:
            result = MachineResult(KIND_UCM2, _as_float_map(mat["ucm2"], path, "ucm2"))
        elif "segs" in mat:
            result = MachineResult(KIND_SEGS, _segs_from_stack(mat["segs"], path))
        else:
            keys = sorted(k for k in mat if not k.startswith("__"))
            raise ValueError(f"{path}: expected a variable 'ucm2' or 'segs', found {keys}")
    elif ext in IMAGE_EXTENSIONS:
        result = MachineResult(KIND_BOUNDARIES, _read_image(path))
    elif ext == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise ValueError(f"{path}: cannot read .npy ({type(exc).__name__}: {exc})") from None
        if arr.ndim == 3:
            result = MachineResult(KIND_SEGS, _segs_from_stack(arr, path))
        else:
            result = classify_array(arr, image_shape, str(path))
    elif ext == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                contents = {k: npz[k] for k in npz.files}
        except Exception as exc:
            raise ValueError(f"{path}: cannot read .npz ({type(exc).__name__}: {exc})") from None
        if "ucm2" in contents:
            result = MachineResult(KIND_UCM2, _as_float_map(contents["ucm2"], path, "ucm2"))
        elif "boundaries" in contents:
            result = MachineResult(KIND_BOUNDARIES,
                                   _as_float_map(contents["boundaries"], path, "boundaries"))
        elif "segs" in contents:
            result = MachineResult(KIND_SEGS, _segs_from_stack(contents["segs"], path))
        else:
            raise ValueError(f"{path}: expected a key 'ucm2', 'boundaries' or 'segs', "
                             f"found {sorted(contents)}")
    else:
        raise ValueError(f"{path}: unknown result extension '{ext}' "
                         f"(supported: {', '.join(RESULT_EXTENSIONS)})")
    if image_shape is not None:
        check_result_size(result, image_shape, str(path))
    return result


def check_result_size(result: MachineResult, image_shape: Sequence[int], name: str) -> None:
    """Raise ValueError naming ``name`` and both sizes if the result does not fit the image."""
    h, w = (int(v) for v in image_shape)
    if result.kind == KIND_UCM2:
        if result.data.shape != (2 * h + 1, 2 * w + 1):
            rows, cols = result.data.shape
            raise ValueError(f"{name}: ucm2 size {rows}x{cols} does not match the ground truth "
                             f"{h}x{w} (expected {2 * h + 1}x{2 * w + 1})")
        return
    shape = result.image_shape
    if tuple(shape) != (h, w):
        raise ValueError(f"{name}: result size {shape[0]}x{shape[1]} does not match the ground "
                         f"truth size {h}x{w}")


def list_ground_truth(gt_dir: str | os.PathLike) -> dict:
    """Map image id -> ground-truth path for every ``.mat`` in ``gt_dir`` (sorted by id)."""
    gt_dir = Path(gt_dir)
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"ground-truth folder not found: {gt_dir}")
    files = sorted(p for p in gt_dir.iterdir() if p.suffix.lower() == ".mat" and p.is_file())
    if not files:
        raise ValueError(f"ground-truth folder has no .mat files: {gt_dir}")
    return {p.stem: p for p in files}


def find_results(results_dir: str | os.PathLike, image_ids: Sequence[str]) -> tuple[dict, list]:
    """Find the result file of each image.

    Returns
    -------
    found : dict
        image id -> path, in the order of ``image_ids``.
    missing : list of str
        Image ids with no result file.

    Raises
    ------
    ValueError
        Empty folder, no usable result at all, or an image with several
        result files of different extensions.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder not found: {results_dir}")
    by_stem: dict = {}
    for p in sorted(results_dir.iterdir()):
        if p.is_file() and p.suffix.lower() in RESULT_EXTENSIONS:
            by_stem.setdefault(p.stem, []).append(p)
    if not by_stem:
        raise ValueError(f"results folder has no result files ({', '.join(RESULT_EXTENSIONS)}): "
                         f"{results_dir}")
    found, missing = {}, []
    for iid in image_ids:
        paths = by_stem.get(iid)
        if not paths:
            missing.append(iid)
            continue
        if len(paths) > 1:
            raise ValueError(f"image {iid}: several result files {[p.name for p in paths]} in "
                             f"{results_dir}; keep one")
        found[iid] = paths[0]
    if not found:
        raise ValueError(f"no result in {results_dir} matches any of the {len(image_ids)} "
                         "ground-truth images (file names must be <image id>.<ext>)")
    extra = sorted(set(by_stem) - set(image_ids))
    if extra:
        warnings.warn(f"{len(extra)} result file(s) have no ground truth and are ignored "
                      f"(e.g. {extra[:3]})", stacklevel=2)
    return found, missing
