"""Training of the structured edge forest on BSDS500 (Dollar & Zitnick, ICCV 2013).

Run by ``mcg train edges`` (:func:`mcg.edge_training.train_edges`), never at import.

Per tree (each with its own random stream derived from ``seed`` and the tree number):
sample positive (within 8 px of a human boundary) and negative 32x32 patches with the
16x16 segmentation patch of one human (each human of each image contributes), keep a
random quarter of the 7228 features, quantize them to 256 bins per feature (bin edges
from feature quantiles, shared by all trees), and grow a tree: at every node the
16x16 segment patches are discretized (256 random pixel pairs "same segment?", first
principal component, sign -> 2 classes) and the node is split by the best Gini gain over
sqrt(#features) random features; nodes keep the medoid segment patch. A checkpoint is
written per tree so an interrupted run resumes losing at most one tree. ``--mirror`` adds
the left-right mirror image of every training image to the pool (not used for the shipped
model).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.io
from numba import njit
from scipy import ndimage

from contours.channels import compute_channels
from contours.features import (LABEL_SIZE, N_FEATURES, PATCH_SIZE, extract_features,
                               quantize_features)
from contours.forest import FORMAT_NAME, FORMAT_VERSION, EdgeForest

N_BINS = 256
HALF_PATCH = PATCH_SIZE // 2
HALF_LABEL = LABEL_SIZE // 2


# ----------------------------------------------------------------------------- data

class TrainingImage:
    """Channels of one training image and its humans' segmentations.

    Attributes
    ----------
    chns_reg, chns_sim : ndarray, float32, (13, h, w)
    segmentations : list of ndarray, int32, (H, W)
    positives, negatives : list of ndarray, int64
        Per human, flat indices ``y * W + x`` of candidate patch centers.
    """

    def __init__(self, rgb: np.ndarray, segmentations: list[np.ndarray],
                 boundaries: list[np.ndarray]):
        height, width = rgb.shape[:2]
        pad_h = (4 - height % 4) % 4
        pad_w = (4 - width % 4) % 4
        padded = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
        self.chns_reg, self.chns_sim = compute_channels(padded)
        self.width = width
        self.segmentations = [np.ascontiguousarray(s, dtype=np.int32) for s in segmentations]
        valid = np.zeros((height, width), bool)
        valid[HALF_PATCH:height - HALF_PATCH + 1:2, HALF_PATCH:width - HALF_PATCH + 1:2] = True
        self.positives, self.negatives = [], []
        for bnd in boundaries:
            near = ndimage.distance_transform_edt(bnd == 0) < HALF_LABEL
            self.positives.append(np.flatnonzero(near & valid))
            self.negatives.append(np.flatnonzero(~near & valid))


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as float32 RGB in [0, 1], (H, W, 3)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def read_bsds_ground_truth(path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Segmentations and boundaries of every human in a BSDS groundTruth .mat file."""
    mat = scipy.io.loadmat(str(path))
    cells = mat["groundTruth"].ravel()
    segs = [np.asarray(c["Segmentation"][0, 0]) for c in cells]
    bnds = [np.asarray(c["Boundaries"][0, 0]) for c in cells]
    return segs, bnds


def load_bsds_train(data_dir: Path, max_images: int | None = None, log=print,
                    mirror: bool = False) -> list[TrainingImage]:
    """Load BSDS500 train images with their ground truth and compute their channels.

    With ``mirror``, each image is followed by its left-right mirror image (with mirrored
    ground truth), doubling the pool the patches are drawn from.
    """
    image_dir = data_dir / "images" / "train"
    gt_dir = data_dir / "groundTruth" / "train"
    if not image_dir.is_dir() or not gt_dir.is_dir():
        raise FileNotFoundError(f"BSDS500 train folders not found under {data_dir}")
    paths = sorted(image_dir.glob("*.jpg"))
    if max_images:
        paths = paths[:max_images]
    images = []
    for i, path in enumerate(paths):
        segs, bnds = read_bsds_ground_truth(gt_dir / (path.stem + ".mat"))
        rgb = read_rgb(path)
        images.append(TrainingImage(rgb, segs, bnds))
        if mirror:
            images.append(TrainingImage(np.ascontiguousarray(rgb[:, ::-1]),
                                        [np.ascontiguousarray(s[:, ::-1]) for s in segs],
                                        [np.ascontiguousarray(b[:, ::-1]) for b in bnds]))
        if (i + 1) % 50 == 0:
            log(f"  loaded {i + 1}/{len(paths)} images")
    return images


# ----------------------------------------------------------------------------- sampling

@njit(cache=True, nogil=True)
def _relabel_patches(segmentation, centers_y, centers_x, half):
    n = centers_y.shape[0]
    g = 2 * half
    out = np.empty((n, g * g), np.uint8)
    lut_keys = np.empty(g * g, np.int64)
    for s in range(n):
        n_labels = 0
        y0 = centers_y[s] - half
        x0 = centers_x[s] - half
        for i in range(g):
            for j in range(g):
                v = segmentation[y0 + i, x0 + j]
                found = -1
                for q in range(n_labels):
                    if lut_keys[q] == v:
                        found = q
                        break
                if found < 0:
                    lut_keys[n_labels] = v
                    found = n_labels
                    n_labels += 1
                out[s, i * g + j] = found
    return out


def sample_patches(images: list[TrainingImage], n_pos: int, n_neg: int, rng: np.random.Generator,
                   fids: np.ndarray, edges: np.ndarray):
    """Sample patches of all images and return quantized features and label patches.

    Returns
    -------
    features : ndarray, uint8, (len(fids), n)   feature-major
    labels : ndarray, uint8, (n, 256)           relabelled 16x16 segment patches
    """
    feats, labels = [], []
    n_images = len(images)
    for image in images:
        n_gt = len(image.segmentations)
        k_pos = int(math.ceil(n_pos / n_images / n_gt))
        k_neg = int(math.ceil(n_neg / n_images / n_gt))
        for human in range(n_gt):
            chosen = []
            for pool, k in ((image.positives[human], k_pos), (image.negatives[human], k_neg)):
                k = min(k, pool.size)
                if k:
                    chosen.append(rng.choice(pool, size=k, replace=False))
            if not chosen:
                continue
            flat = np.concatenate(chosen)
            cy, cx = flat // image.width, flat % image.width
            values = extract_features(image.chns_reg, image.chns_sim, (cy - HALF_PATCH) // 2,
                                      (cx - HALF_PATCH) // 2, fids)
            feats.append(quantize_features(values, fids, edges))
            labels.append(_relabel_patches(image.segmentations[human], cy, cx, HALF_LABEL))
    features = np.ascontiguousarray(np.concatenate(feats, axis=0).T)
    return features, np.concatenate(labels, axis=0)


def quantization_edges(images: list[TrainingImage], per_image: int, rng: np.random.Generator) -> np.ndarray:
    """Per-feature bin edges: the 255 inner 1/256-quantiles of features of random patches.

    Returns
    -------
    ndarray, float32, (7228, 255), ascending along axis 1.
    """
    values = []
    for image in images:
        pool = np.concatenate([image.positives[0], image.negatives[0]])
        flat = rng.choice(pool, size=min(per_image, pool.size), replace=False)
        cy, cx = flat // image.width, flat % image.width
        values.append(extract_features(image.chns_reg, image.chns_sim, (cy - HALF_PATCH) // 2,
                                       (cx - HALF_PATCH) // 2))
    values = np.sort(np.concatenate(values, axis=0), axis=0)
    n = values.shape[0]
    rows = np.clip(np.round(np.arange(1, N_BINS) / N_BINS * n).astype(int), 0, n - 1)
    edges = values[rows].T.astype(np.float32)
    return np.ascontiguousarray(np.maximum.accumulate(edges, axis=1))


# ----------------------------------------------------------------------------- tree growth

@njit(cache=True, nogil=True)
def _discretize(labels, idx, p1, p2, max_pca):
    """Two-class discretization of the node's segment patches.

    Returns (classes uint8 (m,), medoid position in idx, uniform flag)."""
    m = idx.shape[0]
    n_pairs = p1.shape[0]
    mean = np.zeros(n_pairs, np.float64)
    for i in range(m):
        row = labels[idx[i]]
        for q in range(n_pairs):
            if row[p1[q]] == row[p2[q]]:
                mean[q] += 1.0
    for q in range(n_pairs):
        mean[q] /= m
    variance = np.zeros(n_pairs, np.float64)
    any_var = False
    for q in range(n_pairs):
        variance[q] = mean[q] * (1.0 - mean[q])
        if variance[q] > 1e-12:
            any_var = True
    classes = np.zeros(m, np.uint8)
    if not any_var:
        return classes, 0, True
    # principal direction from (a subset of) the centered codes, by power iteration
    step = 1
    if m > max_pca:
        step = m // max_pca
    n_sub = (m + step - 1) // step
    z = np.empty((n_sub, n_pairs), np.float64)
    for r in range(n_sub):
        row = labels[idx[r * step]]
        for q in range(n_pairs):
            z[r, q] = (1.0 if row[p1[q]] == row[p2[q]] else 0.0) - mean[q]
    v = variance / np.sqrt(np.sum(variance * variance))
    for _ in range(100):
        u = np.dot(z, v)
        w = np.dot(u, z)
        norm = np.sqrt(np.sum(w * w))
        if norm <= 0:
            break
        w /= norm
        diff = np.sum(np.abs(w - v))
        v = w
        if diff < 1e-6:
            break
    best = 1e300
    medoid = 0
    n0 = 0
    for i in range(m):
        row = labels[idx[i]]
        proj = 0.0
        dist = 0.0
        for q in range(n_pairs):
            d = (1.0 if row[p1[q]] == row[p2[q]] else 0.0) - mean[q]
            proj += d * v[q]
            dist += d * d
        if dist < best:
            best = dist
            medoid = i
        if proj < 0:
            classes[i] = 1
        else:
            n0 += 1
    return classes, medoid, n0 == 0 or n0 == m


@njit(cache=True, nogil=True)
def _best_split(features, idx, classes, feature_choice, min_child):
    m = idx.shape[0]
    c1 = 0
    for i in range(m):
        c1 += classes[i]
    c0 = m - c1
    parent = 1.0 - (c0 * c0 + c1 * c1) / (m * m)
    best_gain = -1.0
    best_f = -1
    best_b = -1
    h0 = np.empty(256, np.int64)
    h1 = np.empty(256, np.int64)
    for k in range(feature_choice.shape[0]):
        f = feature_choice[k]
        col = features[f]
        h0[:] = 0
        h1[:] = 0
        for i in range(m):
            b = col[idx[i]]
            if classes[i]:
                h1[b] += 1
            else:
                h0[b] += 1
        l0 = 0
        l1 = 0
        for b in range(255):
            l0 += h0[b]
            l1 += h1[b]
            nl = l0 + l1
            nr = m - nl
            if nl < min_child:
                continue
            if nr < min_child:
                break
            r0 = c0 - l0
            r1 = c1 - l1
            gl = 1.0 - (l0 * l0 + l1 * l1) / (nl * nl)
            gr = 1.0 - (r0 * r0 + r1 * r1) / (nr * nr)
            gain = parent - (nl * gl + nr * gr) / m
            if gain > best_gain:
                best_gain = gain
                best_f = f
                best_b = b
    return best_f, best_b, best_gain


@njit(cache=True, nogil=True)
def grow_tree(features, labels, seed, n_node_features, min_child, max_depth, n_pairs, max_pca):
    """Grow one tree on quantized features.

    Parameters
    ----------
    features : uint8 (F, n)   feature-major quantized features
    labels : uint8 (n, 256)   segment patches
    seed : int                numba random seed (the tree's stream)

    Returns
    -------
    child, fid, bin, depth, count, medoid : per-node arrays (int32), nodes in creation
    order; children of node k are child[k] and child[k] + 1 (child 0 = leaf).
    """
    np.random.seed(seed)
    n_features, n = features.shape
    n_pixels = labels.shape[1]
    max_nodes = 2 * (n // max(min_child, 1)) + 3
    child = np.zeros(max_nodes, np.int32)
    fid = np.zeros(max_nodes, np.int32)
    fbin = np.zeros(max_nodes, np.int32)
    depth = np.zeros(max_nodes, np.int32)
    count = np.zeros(max_nodes, np.int32)
    medoid = np.zeros(max_nodes, np.int32)
    start = np.zeros(max_nodes, np.int64)
    stop = np.zeros(max_nodes, np.int64)
    perm = np.arange(n).astype(np.int64)
    buffer = np.empty(n, np.int64)
    all_features = np.arange(n_features).astype(np.int64)
    p1 = np.empty(n_pairs, np.int64)
    p2 = np.empty(n_pairs, np.int64)
    stop[0] = n
    n_nodes = 1
    k = 0
    while k < n_nodes:
        s = start[k]
        e = stop[k]
        m = e - s
        count[k] = m
        idx = perm[s:e]
        for q in range(n_pairs):
            a = np.random.randint(0, n_pixels)
            b = np.random.randint(0, n_pixels - 1)
            if b >= a:
                b += 1
            if a < b:
                p1[q] = a
                p2[q] = b
            else:
                p1[q] = b
                p2[q] = a
        classes, med, uniform = _discretize(labels, idx, p1, p2, max_pca)
        medoid[k] = idx[med]
        if uniform or m < 2 * min_child or depth[k] >= max_depth:
            k += 1
            continue
        # sample features for this node (partial Fisher-Yates)
        n_choice = min(n_node_features, n_features)
        for q in range(n_choice):
            r = q + np.random.randint(0, n_features - q)
            t = all_features[q]
            all_features[q] = all_features[r]
            all_features[r] = t
        f, bsplit, gain = _best_split(features, idx, classes, all_features[:n_choice], min_child)
        if f < 0 or gain <= 1e-10:
            k += 1
            continue
        col = features[f]
        nl = 0
        nr = 0
        for i in range(m):
            if col[idx[i]] <= bsplit:
                perm[s + nl] = idx[i]
                nl += 1
            else:
                buffer[nr] = idx[i]
                nr += 1
        for i in range(nr):
            perm[s + nl + i] = buffer[i]
        child[k] = n_nodes
        fid[k] = f
        fbin[k] = bsplit
        for c in range(2):
            start[n_nodes + c] = s if c == 0 else s + nl
            stop[n_nodes + c] = s + nl if c == 0 else e
            depth[n_nodes + c] = depth[k] + 1
        n_nodes += 2
        k += 1
    return (child[:n_nodes].copy(), fid[:n_nodes].copy(), fbin[:n_nodes].copy(),
            depth[:n_nodes].copy(), count[:n_nodes].copy(), medoid[:n_nodes].copy())


@njit(cache=True, nogil=True)
def clean_segments(segs, min_size):
    """Merge segments of at most ``min_size`` pixels into their most common neighbour label
    and relabel each patch 0..k-1 in order of first appearance (in place; segs uint8 (n, g, g))."""
    n, g, _ = segs.shape
    for p in range(n):
        s = segs[p]
        changed = True
        while changed:
            changed = False
            sizes = np.zeros(256, np.int64)
            for y in range(g):
                for x in range(g):
                    sizes[s[y, x]] += 1
            n_present = 0
            for lab in range(256):
                if sizes[lab] > 0:
                    n_present += 1
            if n_present <= 1:
                break
            for lab in range(256):
                if sizes[lab] == 0 or sizes[lab] > min_size:
                    continue
                votes = np.zeros(256, np.int64)
                for y in range(g):
                    for x in range(g):
                        if s[y, x] != lab:
                            continue
                        for dy in range(-1, 2):
                            for dx in range(-1, 2):
                                yy = y + dy
                                xx = x + dx
                                if 0 <= yy < g and 0 <= xx < g and s[yy, xx] != lab:
                                    votes[s[yy, xx]] += 1
                target = np.argmax(votes)
                if votes[target] == 0:
                    continue
                for y in range(g):
                    for x in range(g):
                        if s[y, x] == lab:
                            s[y, x] = target
                changed = True
                break
        lut = np.full(256, -1, np.int64)
        nxt = 0
        for y in range(g):
            for x in range(g):
                v = s[y, x]
                if lut[v] < 0:
                    lut[v] = nxt
                    nxt += 1
                s[y, x] = lut[v]
    return segs


# ----------------------------------------------------------------------------- driver

DEFAULTS = dict(n_trees=8, n_pos=100000, n_neg=100000, frac_features=0.25, min_child=8,
                max_depth=64, n_pairs=256, max_pca=4096, edge_samples_per_image=100,
                min_segment=5, mirror=False)


def train_tree(images, tree_number: int, seed: int, edges: np.ndarray, opts: dict, log=print) -> dict:
    """Sample data for one tree and grow it; returns the tree's arrays (global feature ids,
    float thresholds, leaf segment patches)."""
    rng = np.random.default_rng([seed, tree_number])
    n_tree_features = int(round(N_FEATURES * opts["frac_features"]))
    fids = np.sort(rng.choice(N_FEATURES, size=n_tree_features, replace=False)).astype(np.int64)
    t0 = time.time()
    features, labels = sample_patches(images, opts["n_pos"], opts["n_neg"], rng, fids, edges)
    t1 = time.time()
    log(f"  tree {tree_number}: {labels.shape[0]} patches x {len(fids)} features sampled in {t1 - t0:.1f}s")
    numba_seed = int(rng.integers(0, 2**31 - 1))
    n_node_features = max(1, int(round(math.sqrt(len(fids)))))
    child, fid, fbin, depth, count, medoid = grow_tree(
        features, labels, numba_seed, n_node_features, opts["min_child"], opts["max_depth"],
        opts["n_pairs"], opts["max_pca"])
    log(f"  tree {tree_number}: {len(child)} nodes, max depth {depth.max()} grown in {time.time() - t1:.1f}s")
    split = child > 0
    global_fid = np.where(split, fids[fid], 0).astype(np.int32)
    thrs = np.where(split, edges[global_fid, np.clip(fbin, 0, edges.shape[1] - 1)], 0).astype(np.float32)
    leaves = np.flatnonzero(~split)
    segs = labels[medoid[leaves]].reshape(-1, LABEL_SIZE, LABEL_SIZE).copy()
    clean_segments(segs, opts["min_segment"])
    return dict(child=child, fids=global_fid, thrs=thrs, depth=depth, count=count,
                leaves=leaves, segs=segs)


def merge_trees(trees: list[dict], metadata: dict) -> EdgeForest:
    """Concatenate per-tree arrays into one :class:`EdgeForest`."""
    fids, thrs, child, roots, leaf_index, segs = [], [], [], [], [], []
    node_offset = 0
    leaf_offset = 0
    for tree in trees:
        n = len(tree["child"])
        roots.append(node_offset)
        fids.append(tree["fids"])
        thrs.append(tree["thrs"])
        child.append(np.where(tree["child"] > 0, tree["child"] + node_offset, 0))
        index = np.full(n, -1, np.int32)
        index[tree["leaves"]] = leaf_offset + np.arange(len(tree["leaves"]))
        leaf_index.append(index)
        segs.append(tree["segs"])
        node_offset += n
        leaf_offset += len(tree["leaves"])
    return EdgeForest(fids=np.concatenate(fids), thrs=np.concatenate(thrs),
                      child=np.concatenate(child), roots=np.array(roots),
                      leaf_index=np.concatenate(leaf_index), leaf_segs=np.concatenate(segs),
                      metadata=metadata)


def _tree_checkpoint(work: Path, tree_number: int) -> Path:
    return work / f"tree_{tree_number:03d}.npz"


def _train_and_checkpoint(images, tree_number, seed, edges, opts, work, log=print) -> None:
    """Train one tree and write its checkpoint (atomically: a partial file is never left)."""
    t0 = time.time()
    log(f"tree {tree_number}: training")
    tree = train_tree(images, tree_number, seed, edges, opts, log)
    elapsed = time.time() - t0
    path = _tree_checkpoint(work, tree_number)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez_compressed(partial, wall_time=np.float64(elapsed), **tree)
    partial.replace(path)
    log(f"tree {tree_number}: done in {elapsed:.1f}s, {len(tree['leaves'])} leaves, checkpoint {path}")


_FORK_STATE: dict = {}


def _forked_tree_job(tree_number: int) -> int:
    state = _FORK_STATE

    def log(msg):
        print(time.strftime("%H:%M:%S ") + msg, flush=True)

    _train_and_checkpoint(state["images"], tree_number, state["seed"], state["edges"],
                          state["opts"], state["work"], log)
    return tree_number


def _train_missing_parallel(images, missing, seed, edges, opts, work, jobs, finished) -> None:
    """Train the missing trees in ``jobs`` forked processes (the images are shared by fork).

    Every tree draws from its own random stream ``(seed, tree_number)``, so the forest does not
    depend on the number of jobs."""
    import multiprocessing

    _FORK_STATE.update(images=images, seed=seed, edges=edges, opts=opts, work=work)
    context = multiprocessing.get_context("fork")
    with context.Pool(min(jobs, len(missing)), maxtasksperchild=1) as pool:
        for count, tree_number in enumerate(pool.imap_unordered(_forked_tree_job, missing), 1):
            finished(tree_number, count)
    _FORK_STATE.clear()


def _check_work_folder(work: Path, record: dict, overwrite: bool) -> None:
    """Make ``work`` hold checkpoints of ``record``'s training only (refuse or clear others)."""
    record_path = work / "training_options.json"
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    if record_path.is_file() and record_path.read_text() != text:
        if not overwrite:
            recorded = json.loads(record_path.read_text())
            differences = sorted(k for k in set(recorded) | set(record)
                                 if recorded.get(k) != record.get(k))
            raise ValueError(f"{work} holds the checkpoints of a training with other settings "
                             f"({', '.join(differences)}); rerun with the same settings to "
                             "continue it, or pass overwrite (--overwrite) to start again")
        for path in work.glob("tree_*.npz"):
            path.unlink()
        (work / "edges.npy").unlink(missing_ok=True)
    elif not record_path.is_file() and any(work.glob("tree_*.npz")):
        if not overwrite:
            raise ValueError(f"{work} holds tree checkpoints of an unrecorded training; remove "
                             "them or pass overwrite (--overwrite)")
        for path in work.glob("tree_*.npz"):
            path.unlink()
        (work / "edges.npy").unlink(missing_ok=True)
    partial = work / ".training_options.json.partial"
    partial.write_text(text)
    partial.replace(record_path)


def train_forest(images: list[TrainingImage], out_path: Path, seed: int, opts: dict,
                 command: str = "", log=print, jobs: int = 1, data: dict | None = None,
                 overwrite: bool = False) -> EdgeForest:
    """Train (or resume) a forest and write it to ``out_path``.

    Per-tree checkpoints go to ``<out_path stem>_work/`` next to the output, with a record of
    the settings; a rerun with the same settings trains only the missing trees (a killed
    training loses at most the trees in progress), one with other settings is refused unless
    ``overwrite``. With ``jobs > 1`` the missing trees are trained in parallel processes (same
    result as one job). The output is written atomically; its bytes depend only on the
    settings and the data.

    Parameters
    ----------
    images : list of TrainingImage
    out_path : Path
        The model ``.npz``.
    seed : int
    opts : dict
        :data:`DEFAULTS` with overrides.
    command : str
        Recorded in the model's metadata.
    log : callable
        Progress messages (trees done, time left).
    jobs : int
        Trees trained at once.
    data : dict, optional
        Description of the training data (recorded, and part of the checkpoint settings).
    overwrite : bool
        Discard checkpoints of other settings.

    Returns
    -------
    EdgeForest
    """
    out_path = Path(out_path)
    work = out_path.parent / (out_path.stem + "_work")
    work.mkdir(parents=True, exist_ok=True)
    _check_work_folder(work, {"seed": seed, "options": opts, "data": data or {},
                              "n_images": len(images)}, overwrite)
    t_start = time.time()
    edges_path = work / "edges.npy"
    if edges_path.exists():
        edges = np.load(edges_path)
    else:
        edges = quantization_edges(images, opts["edge_samples_per_image"],
                                   np.random.default_rng([seed, 10**6]))
        partial = work / ".edges.partial.npy"
        np.save(partial, edges)
        partial.replace(edges_path)
    log(f"quantization edges ready ({time.time() - t_start:.1f}s)")
    missing = [t for t in range(opts["n_trees"]) if not _tree_checkpoint(work, t).exists()]
    n_done = opts["n_trees"] - len(missing)
    if n_done:
        log(f"{n_done} of {opts['n_trees']} trees done earlier (checkpoints in {work})")
    if missing:
        log(f"trees to train: {missing} with {min(jobs, len(missing))} job(s)")
    t_trees = time.time()

    def tree_finished(tree_number: int, finished: int) -> None:
        elapsed = time.time() - t_trees
        left = len(missing) - finished
        eta = f", about {elapsed / finished * left / 60:.1f} min left" if left else ""
        log(f"tree {tree_number} finished: {n_done + finished}/{opts['n_trees']} trees "
            f"({elapsed / 60:.1f} min{eta})")

    if jobs > 1 and len(missing) > 1:
        _train_missing_parallel(images, missing, seed, edges, opts, work, jobs, tree_finished)
    else:
        for finished, t in enumerate(missing, 1):
            _train_and_checkpoint(images, t, seed, edges, opts, work, log)
            tree_finished(t, finished)
    trees = []
    wall = 0.0
    for t in range(opts["n_trees"]):
        with np.load(_tree_checkpoint(work, t), allow_pickle=False) as saved:
            tree = {k: saved[k] for k in saved.files}
        wall += float(tree.pop("wall_time"))
        trees.append(tree)
    metadata = dict(format=FORMAT_NAME, version=FORMAT_VERSION, seed=seed, command=command,
                    training_wall_time_s=round(wall, 1), options=opts, n_train_images=len(images),
                    data=data or {},
                    tree_samples=[int(t["count"][0]) for t in trees],
                    tree_nodes=[int(len(t["child"])) for t in trees])
    forest = merge_trees(trees, metadata)
    partial = out_path.with_name(f".{out_path.stem}.partial.npz")
    forest.save(partial)
    partial.replace(out_path)
    log(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.1f} MB); tree wall time {wall:.1f}s")
    return forest
