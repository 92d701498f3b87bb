"""Find the images of a dataset: Kaggle layout `ROOT/Training|Testing/<class>/` or plain `ROOT/<class>/`.

Every regular, non-hidden file under a class folder is a candidate (the extension is not trusted:
decoding decides), and so is a broken symbolic link (reading it reports it as unreadable, so the
counts add up); hidden files (`.DS_Store`, `._x`) are ignored and counted. Class names are the
folder names, checked by `utils.safe_class_name` so they cannot escape an output directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mri_gan.errors import MriGanError
from mri_gan.utils import safe_class_name

_TRAIN_NAMES = {"training", "train"}
_TEST_NAMES = {"testing", "test"}


@dataclass(frozen=True)
class Item:
    path: str  # absolute path
    rel: str  # path relative to ROOT (posix), how reports name the file
    split: str  # "train" | "test" (Kaggle layout) or "" (plain layout: split made later)
    cls: str  # class name (folder name)


@dataclass
class Found:
    root: str
    layout: str  # "kaggle" | "plain"
    items: list[Item]
    classes: list[str]  # sorted classes that hold at least one file
    empty_classes: list[str] = field(default_factory=list)  # "split/class" folders without files
    ignored: list[str] = field(default_factory=list)  # hidden files and stray files outside class folders


def _is_file(p: Path) -> bool:
    """A regular file, or a symbolic link that leads nowhere (missing target, loop): both are
    files someone put into the folder; `is_file()` alone would drop the link without a word."""
    return p.is_file() or (p.is_symlink() and not p.exists())


def _files_under(folder: Path, root: Path, ignored: list[str]) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        rel_parts = p.relative_to(folder).parts
        if any(part.startswith(".") for part in rel_parts):
            if _is_file(p):
                ignored.append(p.relative_to(root).as_posix())
            continue
        if _is_file(p):
            out.append(p)
    return out


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def discover(root: str | Path) -> Found:
    """List the candidate image files of ROOT; raise MriGanError if there is nothing to use."""
    root = Path(root)
    if not root.exists():
        raise MriGanError(f"data directory not found: {root}")
    if not root.is_dir():
        raise MriGanError(f"not a directory: {root}")
    root = root.resolve()
    subdirs = _subdirs(root)
    by_lower = {d.name.lower(): d for d in subdirs}
    train_dir = next((by_lower[n] for n in sorted(_TRAIN_NAMES) if n in by_lower), None)
    test_dir = next((by_lower[n] for n in sorted(_TEST_NAMES) if n in by_lower), None)
    ignored: list[str] = []
    empty: list[str] = []
    items: list[Item] = []
    if train_dir is not None or test_dir is not None:
        layout = "kaggle"
        if train_dir is None or test_dir is None:
            have = (train_dir or test_dir).name
            raise MriGanError(f"{root} has {have}/ but not its partner (expected Training/ and Testing/)")
        splits = [("train", train_dir), ("test", test_dir)]
        for p in root.iterdir():
            if _is_file(p):
                ignored.append(p.name)
    else:
        layout = "plain"
        splits = [("", root)]
    for split, sdir in splits:
        class_dirs = _subdirs(sdir)
        for p in sorted(sdir.iterdir()):
            if _is_file(p):
                ignored.append(p.relative_to(root).as_posix())
        for cdir in class_dirs:
            cls = safe_class_name(cdir.name)
            files = _files_under(cdir, root, ignored)
            if not files:
                empty.append(cdir.relative_to(root).as_posix())
            for f in files:
                items.append(Item(str(f), f.relative_to(root).as_posix(), split, cls))
    if not items:
        what = "class folders" if any(_subdirs(s) for _, s in splits) else "no class folders"
        raise MriGanError(f"no image files found under {root} ({what}; expected ROOT/Training|Testing/<class>/"
                          f" or ROOT/<class>/)")
    classes = sorted({it.cls for it in items})
    if layout == "kaggle":
        for split in ("train", "test"):
            if not any(it.split == split for it in items):
                raise MriGanError(f"{root}: the {'Training' if split == 'train' else 'Testing'}/ folder holds no images")
    return Found(str(root), layout, items, classes, empty, ignored)
