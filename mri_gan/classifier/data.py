"""File lists for the classifier: real train/val/test of a prepared dir and synthetic trees.

Only lists of paths and labels live here (no pixels): the images stream from the uint8 PNGs
through `mri_gan.data.pipeline.make_dataset`. Synthetic images are only ever added to the
training list; validation is a seeded, stratified part of the REAL training split and the test
set is the prepared dir's real test split.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError


def train_val_split(labels, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx): `fraction` of each class (at least one image of any class with >= 2) to val."""
    if not 0.0 < fraction < 1.0:
        raise MriGanError(f"classifier.val_fraction must be in (0, 1), got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = min(max(int(round(fraction * idx.size)), 1), idx.size - 1) if idx.size >= 2 else 0
        val.append(idx[:n_val])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    train_idx = np.setdiff1d(np.arange(labels.size), val_idx)
    return train_idx, val_idx


def _check_sizes(paths: list[str], size: int, where: str) -> None:
    from PIL import Image

    for p in paths:
        try:
            with Image.open(p) as im:  # header only
                dims = im.size
        except Exception as e:  # noqa: BLE001 - any decoder failure is a bad file
            raise MriGanError(f"cannot read synthetic image {p}: {type(e).__name__}") from None
        if dims != (size, size):
            raise MriGanError(f"synthetic image {p} is {dims[0]}x{dims[1]}, the prepared data is {size}x{size} ({where})")


def list_synthetic(dirs, class_names: list[str], size: int, prep: str | Path | None = None):
    """(paths, labels) of synthetic images in `dirs`.

    Each dir is a synthesize output (its `manifest.csv` gives file and class) or a plain
    `DIR/<class>/*.png` tree. A class not among `class_names` is an error, as is a dir inside the
    prepared dir (that would let test images in as "synthetic").
    """
    from mri_gan.data.pipeline import list_images

    paths: list[str] = []
    labels: list[int] = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise MriGanError(f"synthetic dir not found: {d}")
        if prep is not None and d.resolve().is_relative_to(Path(prep).resolve()):
            raise MriGanError(f"synthetic dir {d} lies inside the prepared dir {prep}: refusing real images as synthetic")
        manifest = d / "manifest.csv"
        found: list[tuple[str, str]] = []
        if manifest.is_file():
            with open(manifest, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                if not reader.fieldnames or not {"file", "class"} <= set(reader.fieldnames):
                    raise MriGanError(f"{manifest} lacks the columns 'file' and 'class'")
                for row in reader:
                    p = d / row["file"]
                    if not p.is_file():
                        raise MriGanError(f"{manifest} lists {row['file']}, which does not exist")
                    found.append((str(p), row["class"]))
        else:
            subdirs = sorted(p for p in d.iterdir() if p.is_dir())
            for sub in subdirs:
                found += [(p, sub.name) for p in list_images(sub)]
        if not found:
            raise MriGanError(f"no synthetic PNG images in {d} (expected DIR/<class>/*.png or a manifest.csv)")
        unknown = sorted({c for _, c in found} - set(class_names))
        if unknown:
            raise MriGanError(f"unknown class {unknown[0]!r} in synthetic dir {d} (classes of the data: {', '.join(class_names)})")
        _check_sizes([p for p, _ in found], size, str(d))
        paths += [p for p, _ in found]
        labels += [class_names.index(c) for _, c in found]
    return paths, np.asarray(labels, np.int64)


def class_counts(labels, class_names: list[str]) -> dict:
    counts = np.bincount(np.asarray(labels, np.int64), minlength=len(class_names)) if len(labels) else np.zeros(len(class_names), np.int64)
    return {name: int(c) for name, c in zip(class_names, counts)}


def inverse_frequency_weights(labels, num_classes: int) -> dict:
    """Keras `class_weight`: N / (k * n_c) (1.0 for a class absent from training)."""
    counts = np.bincount(np.asarray(labels, np.int64), minlength=num_classes).astype(np.float64)
    w = np.divide(counts.sum(), num_classes * counts, out=np.ones(num_classes), where=counts > 0)
    return {i: float(x) for i, x in enumerate(w)}
