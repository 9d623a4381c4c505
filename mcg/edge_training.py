"""Training a structured edge forest on BSDS-layout or COCO-format data (``mcg train edges``).

The forest and its training are those of :mod:`contours.train` (Dollar & Zitnick); this module
turns a dataset into training images:

* BSDS layout (``--bsds DIR``): ``DIR/images/train/*.jpg`` with ``DIR/groundTruth/train/*.mat``
  (every human's segmentation and boundaries, as BSDS500);
* COCO format (``--coco-gt instances.json --images DIR``): each image's non-crowd instance
  masks, painted largest first into one segmentation (unannotated pixels form one background
  segment), whose label changes are the boundaries: edges of a new domain.

Training writes one checkpoint per tree next to the model (``<model stem>_work/``); a rerun
with the same settings trains only the missing trees, so a killed training loses at most the
trees in progress. ``--jobs`` trees are trained at once (same forest for any number of jobs).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["segmentation_of_instances", "coco_training_images", "train_edges"]


def segmentation_of_instances(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One segmentation and its boundary map from instance masks.

    Parameters
    ----------
    masks : (K, H, W) bool
        Instance masks (may overlap).

    Returns
    -------
    segmentation : (H, W) int32
        0 where no instance is, else ``1 + index`` of the instance painted last, largest
        first (a small object on a large one stays visible).
    boundaries : (H, W) uint8
        1 on a pixel whose label differs from its right or lower neighbour's (one-pixel-wide
        boundaries, as BSDS's ``Boundaries``).
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise ValueError(f"masks must be (K, H, W), got shape {masks.shape}")
    segmentation = np.zeros(masks.shape[1:], np.int32)
    order = np.argsort(-masks.reshape(len(masks), -1).sum(axis=1), kind="stable")
    for index in order:
        segmentation[masks[index]] = index + 1
    boundaries = np.zeros(segmentation.shape, np.uint8)
    boundaries[:, :-1] |= segmentation[:, :-1] != segmentation[:, 1:]
    boundaries[:-1, :] |= segmentation[:-1, :] != segmentation[1:, :]
    return segmentation, boundaries


def coco_training_images(coco_gt, images, max_images: int | None = None, mirror: bool = False,
                         log=print) -> tuple[list, dict]:
    """Training images of a COCO dataset: one segmentation per image from its instances.

    Parameters
    ----------
    coco_gt : str or Path
        COCO instances JSON.
    images : str or Path
        Folder of the images (matched by file name).
    max_images : int, optional
        Use only the first N usable images by file name.
    mirror : bool
        Also add each image's left-right mirror image.
    log : callable

    Returns
    -------
    images : list of contours.train.TrainingImage
    summary : dict
        ``images`` used, ``instances``, and images ``skipped`` (no non-crowd object) or
        ``missing`` (not in the folder).

    Raises
    ------
    FileNotFoundError, ValueError
        Missing files, or no usable image.
    """
    from contours.train import TrainingImage, read_rgb
    from eval.coco_io import load_ground_truth

    folder = Path(images)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    ground_truth = load_ground_truth(coco_gt)
    entries = sorted(ground_truth.images, key=lambda image: image.file_name)
    training, missing, skipped, instances = [], 0, 0, 0
    for image in entries:
        if max_images and len(training) >= max_images * (2 if mirror else 1):
            break
        path = folder / image.file_name
        if not path.is_file():
            missing += 1
            continue
        found = ground_truth.instances(image)
        if found.n_instances == 0:
            skipped += 1
            continue
        segmentation, boundaries = segmentation_of_instances(found.masks)
        rgb = read_rgb(path)
        if rgb.shape[:2] != segmentation.shape:
            raise ValueError(f"{path} is {rgb.shape[1]}x{rgb.shape[0]} but its annotations are "
                             f"{segmentation.shape[1]}x{segmentation.shape[0]}")
        training.append(TrainingImage(rgb, [segmentation], [boundaries]))
        if mirror:
            training.append(TrainingImage(np.ascontiguousarray(rgb[:, ::-1]),
                                          [np.ascontiguousarray(segmentation[:, ::-1])],
                                          [np.ascontiguousarray(boundaries[:, ::-1])]))
        instances += found.n_instances
        if len(training) % 50 == 0:
            log(f"  loaded {len(training)} training images")
    if not training:
        raise ValueError(f"no image of {coco_gt} with a non-crowd object is in {folder} "
                         f"({missing} missing, {skipped} without objects)")
    return training, {"images": len(training) // (2 if mirror else 1), "instances": instances,
                      "skipped": skipped, "missing": missing}


def train_edges(out, *, bsds=None, coco_gt=None, images=None, n_trees: int = 8,
                n_pos: int | None = None, n_neg: int | None = None, seed: int = 0,
                jobs: int = 1, max_images: int | None = None, mirror: bool = False,
                overwrite: bool = False, command: str = "", log=print):
    """Train a structured edge forest and write it to ``out`` (resumable, see module docs).

    Parameters
    ----------
    out : str or Path
        Model file ``.npz`` (``mcg edges --edge-model``, ``detect_edges(model=...)``,
        ``im2ucm(edge_model=...)``).
    bsds : str or Path, optional
        BSDS-layout folder (``images/train``, ``groundTruth/train``).
    coco_gt, images : str or Path, optional
        COCO instances JSON and its image folder (instead of ``bsds``).
    n_trees : int
        Trees of the forest (the shipped model: 8).
    n_pos, n_neg : int, optional
        Positive / negative patches per tree (default :data:`contours.train.DEFAULTS`;
        the shipped model: 500000 each).
    seed : int
    jobs : int
        Trees trained at once (processes; the forest does not depend on it).
    max_images : int, optional
        Use only the first N images (sorted by file name).
    mirror : bool
        Add the left-right mirror image of every training image.
    overwrite : bool
        Replace an existing model file and discard checkpoints of other settings.
    command : str
        Recorded in the model's metadata.
    log : callable

    Returns
    -------
    contours.forest.EdgeForest

    Raises
    ------
    ValueError, FileNotFoundError
        Bad input, or ``out`` exists without checkpoints of these settings (unless
        ``overwrite``).

    Examples
    --------
    >>> from mcg import detect_edges, train_edges
    >>> train_edges("my_edges.npz", coco_gt="instances.json", images="images/")  # doctest: +SKIP
    >>> edges, orientation = detect_edges(image, model="my_edges.npz")            # doctest: +SKIP
    """
    from contours.train import DEFAULTS, load_bsds_train, train_forest

    if (bsds is None) == (coco_gt is None):
        raise ValueError("give the training data as either bsds (--bsds DIR) or coco_gt and "
                         "images (--coco-gt FILE --images DIR)")
    if coco_gt is not None and images is None:
        raise ValueError("--coco-gt needs --images, the folder of its images")
    for name, value in (("n_trees", n_trees), ("jobs", jobs), ("n_pos", n_pos), ("n_neg", n_neg),
                        ("max_images", max_images)):
        if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"the model file must end in .npz, got {out}")
    work = out.parent / (out.stem + "_work")
    if out.exists() and not overwrite and not (work / "training_options.json").is_file():
        raise ValueError(f"{out} exists; choose another file name or pass --overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    opts = dict(DEFAULTS, n_trees=int(n_trees), mirror=bool(mirror))
    if n_pos is not None:
        opts["n_pos"] = int(n_pos)
    if n_neg is not None:
        opts["n_neg"] = int(n_neg)
    if bsds is not None:
        log(f"loading BSDS training images from {bsds}")
        training = load_bsds_train(Path(bsds), max_images, log, mirror=mirror)
        data = {"bsds": str(bsds), "images": len(training) // (2 if mirror else 1)}
    else:
        log(f"loading COCO training images of {coco_gt} from {images}")
        training, summary = coco_training_images(coco_gt, images, max_images, mirror, log)
        data = dict(summary, coco_gt=str(coco_gt), image_folder=str(images))
    log(f"{len(training)} training images; {opts['n_trees']} trees of {opts['n_pos']} positive "
        f"and {opts['n_neg']} negative patches")
    return train_forest(training, out, seed, opts, command, log, jobs=jobs, data=data,
                        overwrite=overwrite)
