"""Diversity: mean pairwise MS-SSIM within one set of images (Odena et al. 2017 used it to spot
mode collapse). Compare the fake set's value with the real set's: fake >> real means the
generator repeats itself; values near the real set's are what a diverse generator gives.

MS-SSIM is `tf.image.ssim_multiscale`'s (computed with keras.ops on every backend:
mri_gan/metrics/ssim.py). It halves the image at each scale, and each scale needs at least
`filter_size` px, so its default (5 scales, 11 px filter) fails at 160 px and below
(KERAS-NOTES). The scales and filter are adapted to the image side S:
- S >= 176: the standard 5 scales with an 11 px filter (Wang et al. 2003);
- otherwise a 7 px filter and as many scales (at most 5) as keep the coarsest scale at least
  2 x 7 = 14 px wide (so the SSIM map there still has several positions): 3 scales at 64 px,
  4 at 128, 2 at 32, 1 at 16-27;
- below 14 px, or when only one scale fits, plain single-scale SSIM (filter min(7, S)).
The power factors are the first n of the standard (0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
rescaled to sum to 1, so the value stays on the same 0-1 scale. MS-SSIM values are therefore
comparable only between sets of the same image size.
"""

from __future__ import annotations

import math

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.metrics.pixel import SSIM_BATCH, as_unit

POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim_params(size: int) -> tuple[tuple[float, ...], int]:
    """(power_factors, filter_size) used at image side `size` (see module doc)."""
    if size >= 176:
        return POWER_FACTORS, 11
    filter_size = 7
    scales = 0 if size < 2 * filter_size else min(5, 1 + int(math.floor(math.log2(size / (2 * filter_size)))))
    if scales <= 1:
        return (1.0,), min(filter_size, size)
    pf = np.asarray(POWER_FACTORS[:scales])
    return tuple(float(v) for v in pf / pf.sum()), filter_size


def ms_ssim_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MS-SSIM of a[i] vs b[i], uint8 (N, H, W) each, with the size-adapted parameters."""
    from mri_gan.metrics.ssim import scores

    size = min(a.shape[1], a.shape[2])
    pf, fs = ms_ssim_params(size)
    key = "ssim" if len(pf) == 1 else "ms_ssim"  # one scale: plain SSIM with the adapted filter
    out = [scores(as_unit(a[s:s + SSIM_BATCH]), as_unit(b[s:s + SSIM_BATCH]), filter_size=fs,
                  power_factors=pf if len(pf) > 1 else None, psnr=False, cap=SSIM_BATCH)[key]
           for s in range(0, len(a), SSIM_BATCH)]
    return np.concatenate(out).astype(np.float64)


def random_pairs(n: int, n_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n_pairs` seeded pairs (i, j) with i != j (all pairs when fewer exist)."""
    total = n * (n - 1) // 2
    if total <= n_pairs:
        i, j = np.triu_indices(n, 1)
        return i, j
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # uniform over the other images
    return i, j


def mean_pairwise_ms_ssim(images: np.ndarray, n_pairs: int = 500, seed: int = 0) -> float:
    """Mean MS-SSIM over seeded random pairs of distinct positions within one set."""
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise MriGanError(f"expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if len(images) < 2:
        return float("nan")
    i, j = random_pairs(len(images), n_pairs, seed)
    return float(ms_ssim_pairs(images[i], images[j]).mean())
