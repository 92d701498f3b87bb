"""Image mosaics: the one tiling used by sample grids, the compare figure and the benchmarks."""

from __future__ import annotations

import math

import numpy as np


def image_grid(images_uint8: np.ndarray, cols: int, pad: int = 2, rows: int | None = None) -> np.ndarray:
    """(N, H, W) uint8 -> one mosaic of `rows` x `cols` tiles (rows: enough for all N), `pad`
    black pixels between and around the tiles; images beyond rows*cols are left out, missing
    tiles are black."""
    n, h, w = images_uint8.shape
    rows = int(math.ceil(n / cols)) if rows is None else int(rows)
    grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), np.uint8)
    for i in range(min(n, rows * cols)):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = images_uint8[i]
    return grid
