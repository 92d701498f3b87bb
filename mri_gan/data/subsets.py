"""Seeded, nested few-label subsets of a prepared dir: N training images per class.

`subset_order` fixes, per class, one seeded order of the class's training images; the subset of
size N is its first N entries, so the subsets are nested (the 100 contain the 50) whatever N is
asked for and in whichever order. `write_subset` materialises one as a prepared dir of its own
(hard links, or copies where links are not possible): `train/<class>/` holds the N images of each
class and `test/<class>/` the parent's whole test split, untouched, so every subset is scored on
the same test images and no test image can enter a subset. Every stage (fit, synthesize,
classify, evaluate) then runs on it unchanged.
"""

from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.utils import read_json, write_json


def subset_order(paths: list[str], class_name: str, seed: int) -> list[str]:
    """`paths` (one class) in the seeded order whose prefixes are the nested subsets.

    The order depends only on the sorted file names, the class name and the seed (not on the
    other classes, nor on N)."""
    names = sorted(paths)
    rng = np.random.default_rng([int(seed), zlib.crc32(class_name.encode("utf-8"))])
    return [names[i] for i in rng.permutation(len(names))]


def subset_paths(prep: str | Path, n: int, seed: int) -> dict[str, list[str]]:
    """{class: the first `n` training images in its seeded order} (all of them where n is 0 or
    more than the class has)."""
    from mri_gan.data.pipeline import list_split

    if n < 0:
        raise MriGanError(f"images per class must be >= 0 (0 = all), got {n}")
    paths, labels, class_names = list_split(prep, "train")
    out = {}
    for i, name in enumerate(class_names):
        order = subset_order([p for p, y in zip(paths, labels) if y == i], name, seed)
        out[name] = order if n == 0 else order[:n]
    return out


def _holds(out: Path, chosen: dict[str, list[str]], prep: Path) -> bool:
    """Whether the subset dir OUT holds exactly the `chosen` training images and PREP's test
    images, byte for byte (its files are links or copies made when it was written)."""
    import filecmp

    from mri_gan.data.pipeline import list_split

    test_paths, test_labels, class_names = list_split(prep, "test")
    want = {f"train/{c}/{Path(f).name}": Path(f) for c, files in chosen.items() for f in files}
    want.update({f"test/{class_names[y]}/{Path(f).name}": Path(f) for f, y in zip(test_paths, test_labels)})
    have = {p.relative_to(out).as_posix() for sp in ("train", "test") if (out / sp).is_dir()
            for p in (out / sp).glob("*/*") if p.is_file()}
    return have == set(want) and all(filecmp.cmp(out / rel, src, shallow=False) for rel, src in want.items())


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another filesystem, or links not allowed: a copy holds the same bytes
        shutil.copy2(src, dst)


def write_subset(prep: str | Path, out: str | Path, n: int, seed: int) -> dict:
    """Make OUT a prepared dir holding `n` training images per class of PREP (and all its test
    images); returns OUT/prepare.json. A no-op when OUT already holds this subset; the dir is
    built under a temporary name and renamed, so an interrupted call leaves nothing half-made."""
    from mri_gan.data.pipeline import list_split, read_prepared_info

    prep, out = Path(prep), Path(out)
    info = read_prepared_info(prep)
    spec = {"of": str(prep.resolve()), "key": info.get("key"), "n_per_class": int(n), "seed": int(seed)}
    if (out / "prepare.json").is_file():
        held = read_json(out / "prepare.json")
        old = held.get("subset") or {}
        if old == spec:
            return held
        same_draw = all(old.get(k) == spec[k] for k in ("of", "n_per_class", "seed"))
        if same_draw and _holds(out, subset_paths(prep, n, seed), prep):
            # PREP was prepared again (its key follows the sources' file times) into the same images:
            # the subset, and what was trained on it, stay valid
            held["subset"] = spec
            write_json(out / "prepare.json", held)
            return held
        why = f"other images than {prep} holds now (prepared again from changed data)" if same_draw \
            else f"another subset ({old})"
        raise MriGanError(f"{out} holds {why}; remove it or choose another dir")
    chosen = subset_paths(prep, n, seed)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    counts = {"train": {}, "test": {}}
    for name, files in chosen.items():
        (tmp / "train" / name).mkdir(parents=True, exist_ok=True)
        for f in files:
            _link(Path(f), tmp / "train" / name / Path(f).name)
        counts["train"][name] = len(files)
    test_paths, test_labels, class_names = list_split(prep, "test")
    for name in class_names:
        (tmp / "test" / name).mkdir(parents=True, exist_ok=True)
    for f, y in zip(test_paths, test_labels):
        _link(Path(f), tmp / "test" / class_names[y] / Path(f).name)
        counts["test"][class_names[y]] = counts["test"].get(class_names[y], 0) + 1
    short = {c: k for c, k in counts["train"].items() if n and k < n}
    new_info = {k: v for k, v in info.items() if k not in ("sources", "dropped", "counts", "totals", "groups")}
    new_info.update({"subset": spec, "subset_counts": counts, "subset_short": short,
                     "key": f"{info.get('key')}-n{n}-s{seed}"})
    write_json(tmp / "prepare.json", new_info)
    if (prep / "config.yaml").is_file():
        shutil.copy2(prep / "config.yaml", tmp / "config.yaml")
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)
    return new_info
