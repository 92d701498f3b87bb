"""`preprocess_file`: read + crop + resize, the exact transform `prepare` applies and `predict` reuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mri_gan.data.crop import preprocess_array
from mri_gan.data.readers import read_gray


def preprocess_file(path: str | Path, size: int, data_cfg) -> np.ndarray:
    """Any image file -> uint8 (size, size), margin cropped, padded to square, resized."""
    return preprocess_array(read_gray(path, data_cfg.min_side), size, data_cfg)
