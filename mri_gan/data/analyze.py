"""Per-file work shared by `audit` and `prepare`, run over a process pool.

One pass per file: read the bytes once, checksum them (exact duplicates), read the header
(format, mode, size), decode to gray, crop the margin, hash the crop (near duplicates) and, for
`prepare`, resize and PNG-encode the result. Results come back in input order (deterministic).
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
from dataclasses import dataclass

import cv2

from mri_gan.data.crop import crop_margin, pad_square, resize
from mri_gan.data.hashing import phash
from mri_gan.data.readers import UnreadableImage, decode_gray, header_info, read_bytes

_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]


@dataclass(frozen=True)
class Params:
    crop_threshold: int
    pad: bool
    min_side: int
    size: int | None = None  # None: audit only, no output image

    @classmethod
    def from_cfg(cls, data_cfg, size: int | None = None) -> "Params":
        return cls(int(data_cfg.crop_threshold), bool(data_cfg.pad), int(data_cfg.min_side), size)


def analyze_one(path: str, params: Params) -> dict:
    """Everything audit/prepare need to know about one file (never raises for bad images)."""
    rec: dict = {"sha256": None, "format": None, "mode": None, "width": None, "height": None,
                 "hash": None, "reason": None, "png": None}
    try:
        data = read_bytes(path)
        rec["sha256"] = hashlib.sha256(data).hexdigest()
        rec.update(header_info(data) if data else {})
        gray = decode_gray(data, path, params.min_side)
        rec["height"], rec["width"] = gray.shape  # the decoded size (DICOM has no Pillow header)
        crop = crop_margin(gray, params.crop_threshold)
        rec["hash"] = phash(pad_square(crop))
        if params.size:
            out = resize(crop, params.size, params.pad)
            ok, buf = cv2.imencode(".png", out, _PNG_PARAMS)
            rec["png"] = buf.tobytes()
    except UnreadableImage as e:
        rec["reason"] = e.reason
    except Exception as e:  # noqa: BLE001 - a decoder crash on one file must not stop the run
        rec["reason"] = f"error ({type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''})"
    return rec


_PARAMS: Params | None = None


def _init(params: Params) -> None:
    global _PARAMS
    _PARAMS = params
    cv2.setNumThreads(1)  # a pool worker: one process per core does the parallel work, nested threads only contend


def _work(path: str) -> dict:
    return analyze_one(path, _PARAMS)


def resolve_workers(workers: int) -> int:
    return max(1, workers if workers and workers > 0 else (os.cpu_count() or 1))


def analyze_files(paths: list[str], params: Params, workers: int = 0, desc: str = "reading") -> list[dict]:
    """`analyze_one` over every path, in order, with a progress bar; `workers` 0 = all cores."""
    from mri_gan.utils import progress

    n = resolve_workers(workers)
    if n == 1 or len(paths) < 64:
        return [analyze_one(p, params) for p in progress(paths, total=len(paths), desc=desc)]
    # spawn, not fork: the caller may already hold TensorFlow's threads, which fork does not survive
    ctx = mp.get_context("spawn")
    chunk = max(8, min(64, len(paths) // (n * 8) or 1))
    with ctx.Pool(n, initializer=_init, initargs=(params,)) as pool:
        return list(progress(pool.imap(_work, paths, chunksize=chunk), total=len(paths), desc=desc))
