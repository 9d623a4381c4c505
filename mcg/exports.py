"""Proposal files for other tools, built from the per-image outputs of ``mcg proposals``.

Every export is produced at the end of a run from the files the images left in the output
folder (``<stem>.npz``, and ``coco_parts/<stem>.jsonl`` for COCO), one image at a time, in
input order: a killed run loses nothing of them, a resumed run writes them complete, and
memory does not grow with the number of images (except for the detector pickles, whose
formats hold every image's boxes in one object).

- COCO results JSON (:func:`write_coco_results`): a list of ``{"image_id", "category_id": 1,
  "score", "bbox": [x, y, w, h], "segmentation": RLE}``, read by pycocotools and by
  ``mcg bench proposals``.
- detectron2 precomputed proposals (:func:`write_detectron2_proposals`): a pickled dict
  ``{"ids": [image id, ...], "boxes": [(N, 4) float32 XYXY_ABS, ...], "objectness_logits":
  [(N,) float32, ...], "bbox_mode": 0}`` (0 is ``BoxMode.XYXY_ABS``), as
  ``detectron2.data.load_proposals_into_dataset`` reads it.
- mmdetection 3.x proposals (:func:`write_mmdet_proposals`): a pickled dict keyed by
  ``"<image folder name>/<file name>"`` (the key ``BaseDetDataset.load_proposals`` looks up),
  each ``{"bboxes": (N, 4) float32 xyxy, "scores": (N,) float32}``.

Image ids (COCO and detectron2, :func:`assign_image_ids`): from a COCO instances file by file
name, else the numeric file stems, else numbers assigned in input order and recorded in an id
map beside the export (reused and extended by later runs).
"""
from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path
from typing import Iterable

import numpy as np

from mcg import storage

#: Sub-folder of the output folder holding each image's COCO entries (JSON lines).
COCO_PARTS = "coco_parts"


def coco_part_name(stem: str) -> str:
    """Name (relative to the output folder) of an image's COCO entries file."""
    return f"{COCO_PARTS}/{stem}.jsonl"


def coco_part_bytes(entries: list[dict]) -> bytes:
    """An image's COCO result entries as JSON lines, without their ``image_id``.

    Parameters
    ----------
    entries : list of dict
        COCO results of one image (:func:`mcg.proposals.proposals_to_coco`).

    Returns
    -------
    bytes
        One JSON object per line, keys in a fixed order; ``image_id`` is inserted when the
        results JSON is assembled (:func:`write_coco_results`).
    """
    lines = []
    for entry in entries:
        entry = {key: value for key, value in entry.items() if key != "image_id"}
        lines.append(json.dumps(entry, separators=(",", ":")))
    return ("\n".join(lines) + "\n" if lines else "").encode()


def id_map_location(export: str) -> str:
    """Where the id map of an export file goes: ``<export without suffix>.image_ids.json``."""
    text = os.fspath(export)
    return text[: len(text) - len(storage.base_name(text))] + f"{storage.stem(text)}.image_ids.json"


def assign_image_ids(paths: list, coco_gt: str | None = None,
                     id_map: str | None = None) -> tuple[dict[str, int], bool]:
    """Image id of every input image, by file name.

    Parameters
    ----------
    paths : list of Path or str
        Input images, in order.
    coco_gt : str, optional
        COCO instances JSON: ids by file name (every image must be in it).
    id_map : str, optional
        Id map file (``{"file name": id}``) to reuse and extend when ids are assigned.

    Returns
    -------
    ids : dict of str to int
        File name -> image id.
    assigned : bool
        True when the ids were assigned in input order (then they belong in ``id_map``).

    Raises
    ------
    FileNotFoundError, ValueError
        Unreadable ground truth, or an image missing from it.
    """
    names = [storage.base_name(p) for p in paths]
    if coco_gt is not None:
        if not storage.is_file(coco_gt):
            raise FileNotFoundError(f"COCO ground truth not found: {coco_gt}")
        try:
            images = json.loads(storage.read_bytes(coco_gt))["images"]
            by_name = {Path(entry["file_name"]).name: int(entry["id"]) for entry in images}
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{coco_gt} is not a COCO instances file ({error})") from None
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"{len(missing)} image(s) not in {coco_gt}: {', '.join(missing[:10])}")
        return {n: by_name[n] for n in names}, False
    stems = [storage.stem(p) for p in paths]
    if all(s.isdigit() for s in stems):
        ids = {n: int(s) for n, s in zip(names, stems)}
        if len(set(ids.values())) == len(ids):
            return ids, False
    known: dict[str, int] = {}
    if id_map is not None and storage.is_file(id_map):
        try:
            known = {str(k): int(v) for k, v in json.loads(storage.read_bytes(id_map)).items()}
        except (ValueError, AttributeError, TypeError) as error:
            raise ValueError(f"{id_map}: not an image id map ({error}); remove it to assign "
                             "new ids") from None
    next_id = max(known.values(), default=0) + 1
    ids = {}
    for name in names:
        if name not in known:
            known[name] = next_id
            next_id += 1
        ids[name] = known[name]
    return ids, True


def write_id_map(location: str, ids: dict[str, int]) -> None:
    """Write an id map ``{"file name": id}`` (merged with the one already there) atomically."""
    merged = {}
    if storage.is_file(location):
        merged = {str(k): int(v) for k, v in json.loads(storage.read_bytes(location)).items()}
    merged.update(ids)
    storage.write_bytes(location, (json.dumps(merged, indent=0, sort_keys=True) + "\n").encode())


def write_coco_results(location: str, out: str, paths: Iterable, ids: dict[str, int]) -> int:
    """Assemble the COCO results JSON from the per-image entry files, streaming.

    Parameters
    ----------
    location : str
        The JSON file to write (atomically).
    out : str
        Output folder of the run (holding ``coco_parts/<stem>.jsonl``).
    paths : iterable of Path or str
        The images to include, in order (those whose outputs are complete).
    ids : dict of str to int
        Image id by file name (:func:`assign_image_ids`).

    Returns
    -------
    int
        Number of results written.
    """
    count = 0
    with storage.atomic_open(location, "w") as handle:
        handle.write("[")
        for path in paths:
            prefix = '{"image_id":%d,' % ids[storage.base_name(path)]
            part = storage.read_bytes(storage.join(out, coco_part_name(storage.stem(path))))
            for line in part.decode().splitlines():
                if not line:
                    continue
                handle.write(("," if count else "") + "\n" + prefix + line[1:])
                count += 1
        handle.write("\n]\n")
    return count


def read_boxes_and_scores(location: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``boxes`` (N, 4) float32 and ``scores`` (N,) float32 of a proposal ``.npz`` file.

    Only these two members are decompressed (not the superpixels and leaf sets).

    Raises
    ------
    ValueError
        If the file is not a proposal archive.
    """
    source = storage.read_bytes(location) if storage.is_url(location) else location
    try:
        with np.load(io.BytesIO(source) if isinstance(source, bytes) else source,
                     allow_pickle=False) as archive:
            boxes = archive["boxes"].astype(np.float32).reshape(-1, 4)
            scores = archive["scores"].astype(np.float32).reshape(-1)
    except (OSError, KeyError, ValueError, EOFError) as error:
        raise ValueError(f"{location}: not a readable proposal .npz file ({error})") from None
    return boxes, scores


def score_logits(scores: np.ndarray) -> np.ndarray:
    """Monotone logits ``log(s / (1 - s))`` of proposal scores (clipped to [1e-6, 1 - 1e-6]).

    detectron2 sorts precomputed proposals by ``objectness_logits``; the order of the
    proposals is kept (ties aside).
    """
    clipped = np.clip(scores.astype(np.float64), 1e-6, 1.0 - 1e-6)
    return np.log(clipped / (1.0 - clipped)).astype(np.float32)


def write_detectron2_proposals(location: str, out: str, paths: Iterable,
                               ids: dict[str, int]) -> int:
    """Write a detectron2 precomputed-proposals pickle from the per-image ``.npz`` files.

    Returns
    -------
    int
        Number of images written.
    """
    record = {"ids": [], "boxes": [], "objectness_logits": [], "bbox_mode": 0}
    for path in paths:
        boxes, scores = read_boxes_and_scores(storage.join(out, f"{storage.stem(path)}.npz"))
        record["ids"].append(ids[storage.base_name(path)])
        record["boxes"].append(boxes)
        record["objectness_logits"].append(score_logits(scores))
    with storage.atomic_open(location, "wb") as handle:
        pickle.dump(record, handle, protocol=4)
    return len(record["ids"])


def mmdet_key(path) -> str:
    """The key mmdetection looks proposals up by: ``<image folder name>/<file name>``."""
    text = os.fspath(path)
    parts = text.rstrip("/").split("/") if storage.is_url(text) else list(Path(text).parts)
    return "/".join(parts[-2:])


def write_mmdet_proposals(location: str, out: str, paths: Iterable) -> int:
    """Write an mmdetection 3.x proposals pickle from the per-image ``.npz`` files.

    Returns
    -------
    int
        Number of images written.
    """
    record = {}
    for path in paths:
        boxes, scores = read_boxes_and_scores(storage.join(out, f"{storage.stem(path)}.npz"))
        record[mmdet_key(path)] = {"bboxes": boxes, "scores": scores}
    with storage.atomic_open(location, "wb") as handle:
        pickle.dump(record, handle, protocol=4)
    return len(record)
