"""Side-by-side 4x4 grids of images from several folders (real and synthetic), one column each.

    python benchmarks/sample_figure.py --out assets/g64_samples.png \
        "real=prep64/train/glioma" "20 epochs=runs/g64v2-syn/glioma" "40 epochs=study-cpu/syn/s64/n460/glioma/glioma"

The first 16 PNGs of each folder (sorted by name: synthesize writes them in seed order, so this
is what any user gets with that seed) are tiled 4 x 4; labels are drawn above each column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from mri_gan.images import image_grid


def tile(folder: Path, n: int = 4, cell: int = 64) -> np.ndarray:
    files = sorted(folder.glob("*.png"))[: n * n]
    if len(files) < n * n:
        raise SystemExit(f"{folder}: fewer than {n * n} PNGs")
    imgs = [cv2.resize(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE), (cell, cell), interpolation=cv2.INTER_AREA)
            for f in files]
    return image_grid(np.stack(imgs), n, pad=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--cell", type=int, default=64, help="side of one image in the figure (px)")
    ap.add_argument("columns", nargs="+", help="LABEL=FOLDER")
    a = ap.parse_args()
    panels = []
    for col in a.columns:
        label, _, folder = col.partition("=")
        grid = tile(Path(folder), cell=a.cell)
        head = np.full((28, grid.shape[1]), 255, np.uint8)
        cv2.putText(head, label, (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 0, 1, cv2.LINE_AA)
        panels.append(np.vstack([head, grid]))
        panels.append(np.full((panels[-1].shape[0], 8), 255, np.uint8))
    fig = np.hstack(panels[:-1])
    tmp = Path(a.out).with_suffix(".tmp.png")
    cv2.imwrite(str(tmp), fig)
    tmp.replace(a.out)
    print(f"wrote {a.out} ({fig.shape[1]}x{fig.shape[0]})")


if __name__ == "__main__":
    main()
