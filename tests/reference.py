"""Reference computations for end-to-end tests: metrics recomputed from the images a run wrote,
by the textbook formulas (TF's SSIM, SciPy's matrix square root), independently of the
library's pairing, batching and formatting code."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np


def read_pngs(folder) -> np.ndarray:
    """uint8 (N, H, W) of every PNG in `folder` (sorted by name)."""
    import cv2

    files = sorted(Path(folder).glob("*.png"))
    assert files, f"no PNGs in {folder}"
    return np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in files])


def nearest_ssim(fake: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each fake, (exhaustive best SSIM against every real, the PSNR of that pair)."""
    import tensorflow as tf

    f = np.repeat(fake, len(real), axis=0)[..., None].astype(np.float32) / 255.0
    r = np.tile(real, (len(fake), 1, 1))[..., None].astype(np.float32) / 255.0
    ssim = tf.image.ssim(f, r, max_val=1.0).numpy().reshape(len(fake), len(real))
    psnr = tf.image.psnr(f, r, max_val=1.0).numpy().reshape(len(fake), len(real))
    best = ssim.argmax(1)
    rows = np.arange(len(fake))
    return ssim[rows, best], psnr[rows, best]


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrtm(S_a S_b)) (Heusel et al. 2017), SciPy's sqrtm."""
    import scipy.linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    import warnings

    with warnings.catch_warnings():  # fewer images than feature dimensions: singular, as expected
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(s_a @ s_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2.0 * root))


def first_number(v) -> float:
    """A table cell as a number: numbers as they are, "0.297 ± 0.036" / "0.77 [0.1, 1.4]" -> first value."""
    if isinstance(v, dict) and "mean" in v:
        return float(v["mean"])
    if isinstance(v, (int, float)):
        return float(v)
    m = re.match(r"\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)", str(v))
    assert m, f"not a number: {v!r}"
    return float(m.group(1))
