"""Small helpers shared by every stage: atomic files, JSON/JSONL, progress bars, safe names."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable

from mri_gan.errors import MriGanError, WriteError, write_error


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one, never half.
    A write error (disk full, read-only, ...) removes the temporary file, leaves the old file as it
    was and raises `WriteError` (an MriGanError and an OSError) naming `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise write_error(path, e) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(x: Any) -> Any:
    """NumPy scalars/arrays and non-finite floats -> plain JSON (inf/nan become strings)."""
    try:
        import numpy as np

        if isinstance(x, np.generic):
            x = x.item()
        elif isinstance(x, np.ndarray):
            x = x.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    return x


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=2) + "\n")


def skipped_lines(unreadable: list[dict], empty_folders: list[str], key: str, label: str, limit: int,
                  more: str) -> list[str]:
    """Summary lines for what a data stage skipped: the first `limit` unreadable files
    (`u[key]: u["reason"]`, then "... and N more <more>") and every empty class folder."""
    lines = [f"  {label}: {u[key]}: {u['reason']}" for u in unreadable]
    lines = lines[:limit] + ([f"  ... and {len(lines) - limit} more {more}"] if len(lines) > limit else [])
    return lines + [f"  skipped empty class folder: {e}" for e in empty_folders]


def read_json(path: str | Path, hint: str = "") -> Any:
    """A JSON file's content; a file that does not parse is a one-line MriGanError naming it
    (`hint` says what to do, e.g. " (interrupted prepare? run it again)")."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MriGanError(f"{path} is not valid JSON{hint}") from None


def append_jsonl(path: str | Path, record: dict) -> None:
    """Append one JSON line. A last line cut by a crash (no newline) is removed first, so the new
    record never glues onto it (read_jsonl would then meet a corrupt line that is not the last).
    A write error takes back what got out of the line and raises `WriteError` naming `path`."""
    path = Path(path)
    line = (json.dumps(_jsonable(record)) + "\n").encode("utf-8")
    size = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file() and path.stat().st_size:
            with open(path, "rb+") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.seek(0)
                    f.truncate(f.read().rfind(b"\n") + 1)
        with open(path, "ab") as f:
            size = f.tell()
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:  # disk full, ...: the part of the line that got out is taken back
        if size is not None:
            try:
                os.truncate(path, size)
            except OSError:
                pass
        raise write_error(path, e) from None


def read_jsonl(path: str | Path) -> list[dict]:
    """The records of a JSONL file ([] if it does not exist). A last line without its newline that
    does not parse is a write cut by a crash and is dropped; a corrupt line anywhere else raises
    MriGanError naming file and line (dropping it would silently shorten a history)."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    out = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            out.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            if number == len(lines):  # the last line has no newline: cut by a crash
                break
            raise MriGanError(f"{path}:{number}: corrupt JSON line ({str(e).splitlines()[0][:80]}): "
                              f"{raw[:60].decode('utf-8', 'replace')!r}") from None
    return out


def machine_summary() -> str:
    """This machine in a few words, for tables that report times: architecture, CPU cores (the
    ones this process may use when the OS says) and the platform."""
    import platform

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 0
    return f"{platform.machine() or 'unknown'}, {cores} CPU core(s), {platform.system() or 'unknown OS'}"


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str = "", disable: bool | None = None):
    """A tqdm progress bar on stderr (quiet when stderr is not a terminal and MRIGAN_PROGRESS=0)."""
    from tqdm.auto import tqdm

    if disable is None:
        disable = os.environ.get("MRIGAN_PROGRESS", "1") == "0"
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False, dynamic_ncols=True)


_SAFE = re.compile(r"^[\w][\w .\-+]*$", re.UNICODE)


def safe_class_name(name: str) -> str:
    """Check that a class name taken from a folder name cannot escape an output directory."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name or not _SAFE.match(name):
        raise MriGanError(f"unsafe class name {name!r}: use letters, digits, space, '.', '-', '_'")
    return name


def ensure_empty_or_new(path: str | Path, overwrite: bool = False) -> Path:
    """Refuse to write into a non-empty directory unless `overwrite`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise MriGanError(f"{path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise MriGanError(f"{path} is not empty; pass --overwrite to replace its contents")
    path.mkdir(parents=True, exist_ok=True)
    return path

