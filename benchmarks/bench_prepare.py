"""Benchmark: `audit` + `prepare` of a dataset vs a plain one-process PIL/OpenCV loop.

    python benchmarks/bench_prepare.py ROOT [--size 128] [--out DIR]

Runs, one after the other on the same machine:
1. baseline: a plain Python loop in one process that, for every file, decodes with Pillow
   (`Image.open(...).convert("L")`), crops the margin, pads, resizes (OpenCV, the same crop and
   resize functions as prepare) and writes a PNG — the same per-image work, no pool, no hashing;
2. `run_audit(ROOT)` (decode, checksum, crop, hash, duplicates, leaks) on all cores;
3. `run_prepare(ROOT, OUT, size)` from scratch (--force) on all cores;
4. `run_prepare` again (up to date: the re-run cost).
Prints wall and CPU times and the ratio baseline / prepare and baseline / (audit + prepare).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mri_gan.config import Config
from mri_gan.data.audit import run_audit
from mri_gan.data.crop import crop_margin, resize
from mri_gan.data.discover import discover
from mri_gan.data.prepare import run_prepare


def baseline(root: str, out: Path, size: int, data_cfg) -> int:
    n = 0
    for it in discover(root).items:
        with Image.open(it.path) as im:
            gray = np.asarray(im.convert("L"))
        img = resize(crop_margin(gray, data_cfg.crop_threshold), size, data_cfg.pad)
        dest = out / (it.split or "all") / it.cls / (Path(it.rel).stem + ".png")
        dest.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dest), img)
        n += 1
    return n


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the pool's workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu

    def __str__(self):
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--out", default=None, help="work dir (default: a temp dir, removed at the end)")
    args = ap.parse_args()
    os.environ.setdefault("MRIGAN_PROGRESS", "0")
    work = Path(args.out or tempfile.mkdtemp(prefix="bench_prepare_"))
    cfg = Config()
    cfg.data.size = args.size
    print(f"machine: {os.cpu_count()} CPU cores; data: {args.root}; size {args.size}; workers {cfg.data.workers or 'all'}")

    with Timer() as base:
        n = baseline(args.root, work / "baseline", args.size, cfg.data)
    print(f"baseline (1 process, PIL decode + crop + resize + PNG): {n} files in {base}")
    with Timer() as aud:
        rep = run_audit(args.root, cfg.data)
    print(f"audit (all cores): {rep['files']} files, {len(rep['leaks'])} leak pairs in {aud}")
    with Timer() as prep:
        info = run_prepare(args.root, work / "prep", cfg, force=True)
    print(f"prepare (all cores, from scratch): {info['totals']} in {prep}")
    with Timer() as again:
        info2 = run_prepare(args.root, work / "prep", cfg)
    print(f"prepare re-run (up to date: {info2['up_to_date']}): {again}")
    print(f"audit + prepare: {aud.wall + prep.wall:.1f} s wall (goal <= 60 s), {aud.cpu + prep.cpu:.1f} s CPU")
    print(f"ratio baseline / prepare: {base.wall / prep.wall:.2f}x wall; baseline / (audit + prepare): "
          f"{base.wall / (aud.wall + prep.wall):.2f}x wall")
    print(f"load average after: {os.getloadavg()}")
    if args.out is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
