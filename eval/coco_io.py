"""Ground-truth readers for the proposal benchmark: COCO instance JSON and BSDS ``.mat``.

Both readers expose the same interface: a list of :class:`GroundTruthImage` (file name,
id, size) and :meth:`instances` returning the :class:`ImageInstances` of one image, decoded
on demand so that a whole dataset never sits in memory at once.

COCO (``instances_*.json``): every annotation is one instance; polygons, uncompressed and
compressed RLE are decoded with pycocotools. ``iscrowd`` annotations are not targets; their
pixels that no non-crowd instance covers form the image's *void* region (see
:mod:`eval.proposals` for how void pixels are scored).

BSDS (a folder of ``groundTruth`` ``.mat`` files, one per image, MATLAB cell of structs with
``Segmentation`` labels from 1): every region of every human segmentation is a separate
instance, all of category 1, ids ``human * 100000 + label``; there is no void region.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")


@dataclass(frozen=True)
class GroundTruthImage:
    """One annotated image.

    Attributes
    ----------
    file_name : str
        Image file name (no folder), e.g. ``000000000790.jpg``.
    image_id : int or str
        COCO image id, or the file stem for BSDS.
    height, width : int
        Image size in pixels.
    """

    file_name: str
    image_id: int | str
    height: int
    width: int

    @property
    def stem(self) -> str:
        """File name without extension (the proposal file is ``<stem>.npz``)."""
        return Path(self.file_name).stem


@dataclass
class ImageInstances:
    """Decoded ground truth of one image.

    Attributes
    ----------
    image : GroundTruthImage
    masks : ndarray of bool, shape (K, H, W)
        Non-crowd instances (the targets), K may be 0.
    category_ids : ndarray of int64, shape (K,)
    instance_ids : ndarray of int64, shape (K,)
        COCO annotation ids (BSDS: ``human * 100000 + label``).
    void : ndarray of bool, shape (H, W)
        Pixels of crowd regions not covered by any non-crowd instance.
    n_crowd : int
        Number of crowd annotations (not targets).
    n_empty : int
        Number of non-crowd annotations with an empty mask (dropped from the targets).
    """

    image: GroundTruthImage
    masks: np.ndarray
    category_ids: np.ndarray
    instance_ids: np.ndarray
    void: np.ndarray
    n_crowd: int = 0
    n_empty: int = 0

    @property
    def n_instances(self) -> int:
        """Number of target instances ``K``."""
        return int(self.masks.shape[0])


class CocoGroundTruth:
    """COCO instance annotations (``instances_*.json``) read through pycocotools.

    Parameters
    ----------
    json_path : str or path
        The annotation file.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it is not a COCO instances JSON.
    """

    def __init__(self, json_path: str | os.PathLike):
        from pycocotools.coco import COCO

        path = Path(json_path)
        if not path.is_file():
            raise FileNotFoundError(f"ground-truth file not found: {path}")
        try:
            with open(path, "r", encoding="utf-8") as handle:
                dataset = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a valid JSON file ({error})") from None
        if not isinstance(dataset, dict) or "images" not in dataset or "annotations" not in dataset:
            raise ValueError(f"{path}: not a COCO instances file (needs 'images' and "
                             f"'annotations')")
        self.path = path
        coco = COCO()
        coco.dataset = dataset
        with contextlib.redirect_stdout(io.StringIO()):
            coco.createIndex()
        self.coco = coco
        self.categories = {int(c["id"]): str(c.get("name", c["id"]))
                           for c in dataset.get("categories", [])}
        images = []
        for entry in dataset["images"]:
            try:
                images.append(GroundTruthImage(os.path.basename(str(entry["file_name"])),
                                               int(entry["id"]), int(entry["height"]),
                                               int(entry["width"])))
            except KeyError as error:
                raise ValueError(f"{path}: image entry without {error}: {entry}") from None
        self.images = images

    def instances(self, image: GroundTruthImage) -> ImageInstances:
        """Decode the instances of one image.

        Parameters
        ----------
        image : GroundTruthImage
            One of :attr:`images`.

        Returns
        -------
        ImageInstances
        """
        from pycocotools import mask as mask_utils

        height, width = image.height, image.width
        annotations = self.coco.imgToAnns.get(image.image_id, [])
        masks, categories, ids = [], [], []
        crowd = np.zeros((height, width), dtype=bool)
        n_crowd = n_empty = 0
        for ann in annotations:
            rle = self.coco.annToRLE(ann)
            rle_size = tuple(int(v) for v in rle["size"])
            if rle_size != (height, width):
                raise ValueError(f"{self.path}: annotation {ann.get('id')} of image "
                                 f"{image.file_name} has mask size {list(rle_size)}, the image "
                                 f"is {height}x{width}")
            mask = np.ascontiguousarray(mask_utils.decode(rle), dtype=bool)
            if ann.get("iscrowd", 0):
                crowd |= mask
                n_crowd += 1
                continue
            if not mask.any():
                n_empty += 1
                continue
            masks.append(mask)
            categories.append(int(ann["category_id"]))
            ids.append(int(ann.get("id", len(ids))))
        stacked = (np.stack(masks) if masks
                   else np.zeros((0, height, width), dtype=bool))
        void = crowd & ~stacked.any(axis=0) if len(masks) else crowd
        return ImageInstances(image, stacked, np.asarray(categories, dtype=np.int64),
                              np.asarray(ids, dtype=np.int64), void, n_crowd, n_empty)


class BsdsGroundTruth:
    """BSDS-style ground truth: a folder of ``groundTruth`` ``.mat`` files.

    Parameters
    ----------
    folder : str or path
        Folder of ``<image stem>.mat`` files.

    Raises
    ------
    FileNotFoundError
        When the folder is missing.
    ValueError
        When it holds no ``.mat`` file.
    """

    def __init__(self, folder: str | os.PathLike):
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"ground-truth folder not found: {folder}")
        self.path = folder
        self.categories = {1: "region"}
        self._files = {p.stem: p for p in sorted(folder.glob("*.mat"))}
        if not self._files:
            raise ValueError(f"{folder}: no .mat ground-truth files")
        self._cache: dict[str, list[np.ndarray]] = {}
        self.images = []
        for stem, path in self._files.items():
            segmentations = self._segmentations(stem)
            height, width = segmentations[0].shape
            self.images.append(GroundTruthImage(stem + ".jpg", stem, int(height), int(width)))
        self._cache.clear()

    def _segmentations(self, stem: str) -> list[np.ndarray]:
        if stem in self._cache:
            return self._cache[stem]
        import scipy.io

        path = self._files[stem]
        try:
            data = scipy.io.loadmat(path)
            cell = data["groundTruth"]
            segs = [np.ascontiguousarray(cell.flat[i]["Segmentation"][0, 0])
                    for i in range(cell.size)]
        except (KeyError, IndexError, ValueError, TypeError, OSError) as error:
            raise ValueError(f"{path}: not a BSDS groundTruth file (cell 'groundTruth' of "
                             f"structs with 'Segmentation'): {error}") from None
        if not segs or any(s.ndim != 2 or s.shape != segs[0].shape for s in segs):
            raise ValueError(f"{path}: empty or inconsistent segmentations")
        self._cache = {stem: segs}
        return segs

    def instances(self, image: GroundTruthImage) -> ImageInstances:
        """Every region of every human as an instance of category 1.

        Parameters
        ----------
        image : GroundTruthImage

        Returns
        -------
        ImageInstances
        """
        segs = self._segmentations(str(image.image_id))
        masks, ids = [], []
        for human, seg in enumerate(segs):
            labels = np.unique(seg)
            labels = labels[labels > 0]  # 0 would be unlabelled pixels: not a region
            masks.append(seg[None, :, :] == labels[:, None, None])
            ids.extend(human * 100000 + int(label) for label in labels)
        height, width = segs[0].shape
        stacked = np.concatenate(masks) if masks else np.zeros((0, height, width), dtype=bool)
        return ImageInstances(image, stacked, np.ones(len(ids), dtype=np.int64),
                              np.asarray(ids, dtype=np.int64),
                              np.zeros((height, width), dtype=bool))


def load_ground_truth(path: str | os.PathLike) -> CocoGroundTruth | BsdsGroundTruth:
    """Open COCO JSON (a file) or BSDS ``.mat`` (a folder) ground truth.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    CocoGroundTruth or BsdsGroundTruth
    """
    path = Path(path)
    if path.is_dir():
        return BsdsGroundTruth(path)
    if path.is_file():
        return CocoGroundTruth(path)
    raise FileNotFoundError(f"ground truth not found: {path} (expected a COCO instances JSON "
                            f"file or a folder of BSDS .mat files)")


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file, read from its header when possible.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    tuple of int
    """
    try:
        from PIL import Image

        with Image.open(path) as image:
            width, height = image.size
        return int(height), int(width)
    except ImportError:  # pragma: no cover - Pillow ships with matplotlib
        import cv2

        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise ValueError(f"cannot read image {path}") from None
        return int(image.shape[0]), int(image.shape[1])
    except OSError as error:
        raise ValueError(f"cannot read image {path}: {error}") from None


def match_images(ground_truth: CocoGroundTruth | BsdsGroundTruth,
                 images_dir: str | os.PathLike, check_sizes: bool = True
                 ) -> tuple[list[tuple[GroundTruthImage, Path]], list[GroundTruthImage]]:
    """Pair ground-truth images with the files of an image folder.

    COCO images match by file name; BSDS images by stem with any image extension.

    Parameters
    ----------
    ground_truth : CocoGroundTruth or BsdsGroundTruth
    images_dir : str or path
    check_sizes : bool
        Compare each image's size with the ground truth (reads the image header).

    Returns
    -------
    matched : list of (GroundTruthImage, Path)
        In ground-truth order.
    absent : list of GroundTruthImage
        Ground-truth images with no file in the folder.

    Raises
    ------
    FileNotFoundError
        When the folder is missing.
    ValueError
        When an image's size differs from the ground truth.
    """
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"image folder not found: {images_dir}")
    by_name = {p.name: p for p in images_dir.iterdir() if p.is_file()}
    by_stem: dict[str, Path] = {}
    for name, p in sorted(by_name.items()):
        if p.suffix.lower() in IMAGE_EXTENSIONS:
            by_stem.setdefault(p.stem, p)
    matched, absent = [], []
    for info in ground_truth.images:
        file = by_name.get(info.file_name)
        if file is None and isinstance(ground_truth, BsdsGroundTruth):
            file = by_stem.get(info.stem)
        if file is None:
            absent.append(info)
            continue
        if check_sizes:
            size = image_size(file)
            if size != (info.height, info.width):
                raise ValueError(f"image {file.name} is {size[0]}x{size[1]} (rows x columns) but "
                                 f"its ground truth is {info.height}x{info.width}")
        matched.append((info, file))
    return matched, absent
