"""PSNR, MSE and SSIM between fake and real images, and the pairing that decides which real image
each fake is compared with.

All three are computed on images scaled to [0, 1] (MAX = 1), as `tf.image.psnr` and
`tf.image.ssim` compute them (Gaussian window 11 px, sigma 1.5, K1 = 0.01, K2 = 0.03, the Wang
et al. 2004 defaults), so MSE is on the [0, 1] scale like the paper's 0.006-0.015. The code is
`keras.ops` (mri_gan/metrics/ssim.py), so it runs on every Keras backend without TensorFlow and
agrees with tf.image to float32 rounding.

Pairings (the paper does not say which "original" a generated image is compared with):
- `nearest`: each fake vs the real image most similar to it by SSIM. Exhaustive search costs
  n_fake x n_real SSIMs, so candidates are shortlisted first: both sets are downsized to
  `shortlist_size` px (area averaging), each downsized image is standardized (mean 0, norm 1;
  `shortlist_normalize`), squared distances come from one matrix product
  (|f|^2 + |r|^2 - 2 f.r), and exact SSIM is computed only on the `shortlist_k` closest reals;
  the best of those is the pair. PSNR and MSE of the `nearest` pairing use that same pair.
  Standardizing makes the shortlist distance 2 - 2 x correlation, blind to the brightness and
  contrast offsets that SSIM also largely discounts; on real glioma slices at 64 px it finds
  SSIM's optimum more often than plain MSE (`benchmarks/bench_nearest.py shortlist` measures
  it). The shortlist can miss the exact optimum, so `nearest` SSIM is a slight underestimate
  (measured; k <= 0 means exhaustive search).
- `random`: each fake vs a real image drawn uniformly at random (seeded).

PSNR of two identical images is infinite; it is reported as `psnr_cap` (default 100 dB) so means
stay finite. A PSNR equal to the cap therefore means "identical".
"""

from __future__ import annotations

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.utils import progress

SSIM_BATCH = 256  # image pairs per compiled SSIM call (memory: ~5 float maps per pair)


def _check_set(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 3 or a.dtype != np.uint8:
        raise MriGanError(f"{what}: expected uint8 images (N, H, W), got {a.dtype} {a.shape}")
    if len(a) == 0:
        raise MriGanError(f"{what}: no images")
    return a


def as_unit(a: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) -> float32 (N, H, W, 1) in [0, 1]."""
    return a[..., None].astype(np.float32) / 255.0


def pair_scores(fake: np.ndarray, real: np.ndarray, psnr_cap: float) -> dict[str, np.ndarray]:
    """Per-pair PSNR (capped), MSE and SSIM of fake[i] vs real[i] (both uint8 (N, H, W))."""
    from mri_gan.metrics.ssim import scores

    if fake.shape != real.shape:
        raise MriGanError(f"pair_scores: shapes differ {fake.shape} vs {real.shape}")
    out = {"psnr": [], "mse": [], "ssim": []}
    for s in range(0, len(fake), SSIM_BATCH):
        res = scores(as_unit(fake[s:s + SSIM_BATCH]), as_unit(real[s:s + SSIM_BATCH]), filter_size=11, cap=SSIM_BATCH)
        for k in out:
            out[k].append(res[k])
    res = {k: np.concatenate(v).astype(np.float64) for k, v in out.items()}
    res["psnr"] = np.minimum(res["psnr"], psnr_cap)  # inf (identical) -> cap
    return res


def downsize(a: np.ndarray, size: int, normalize: bool = False) -> np.ndarray:
    """uint8 (N, H, W) -> float32 (N, size*size) in [0, 1], area-averaged (no-op if already small).

    `normalize`: also subtract each image's mean and divide by its norm, so squared distances
    become 2 - 2 x (Pearson correlation), blind to brightness/contrast offsets like SSIM's
    structure term."""
    import cv2

    if a.shape[1] <= size and a.shape[2] <= size:
        small = a
    else:
        small = np.stack([cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA) for x in a])
    flat = small.reshape(len(a), -1).astype(np.float32) / 255.0
    if normalize:
        flat = flat - flat.mean(1, keepdims=True)
        flat = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-6)
    return flat


def squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """All squared Euclidean distances between rows of x (N, D) and y (M, D): one matrix product."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.maximum(d, 0.0)


def shortlist(fake: np.ndarray, real: np.ndarray, k: int, size: int, exclude_self: bool = False,
              normalize: bool = True) -> np.ndarray:
    """Indices (N_fake, k) of the k reals closest to each fake by MSE on `size`-px copies
    (standardized per image when `normalize`, see `downsize`).

    `exclude_self`: fake and real are the same set; drop each image itself and its exact
    duplicates (used to calibrate the copy threshold on real-vs-real pairs).
    """
    d = squared_distances(downsize(fake, size, normalize), downsize(real, size, normalize))
    if exclude_self:
        if fake.shape != real.shape:
            raise MriGanError("exclude_self needs the same set as fake and real")
        # the image itself and its byte-identical copies are not "other" images
        _, group = np.unique(fake.reshape(len(fake), -1), axis=0, return_inverse=True)
        group = group.ravel()
        d[group[:, None] == group[None, :]] = np.inf
    k = min(k, real.shape[0])
    idx = np.argpartition(d, k - 1, axis=1)[:, :k] if k < real.shape[0] else np.tile(np.arange(real.shape[0]), (len(fake), 1))
    # sort each row by distance so ties resolve the same way every time
    order = np.take_along_axis(d, idx, 1).argsort(1, kind="stable")
    idx = np.take_along_axis(idx, order, 1)
    if exclude_self:
        # keep the invalid (self/duplicate) candidates out: mark them -1
        bad = ~np.isfinite(np.take_along_axis(d, idx, 1))
        idx = np.where(bad, -1, idx)
    return idx


def nearest_real(fake: np.ndarray, real: np.ndarray, k: int = 10, size: int = 32, exclude_self: bool = False,
                 show_progress: bool = True, desc: str = "nearest real",
                 normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For each fake, (index of the most similar real by SSIM, that SSIM).

    `k` <= 0 or k >= len(real): exhaustive (exact SSIM against every real image).
    Otherwise exact SSIM on the k reals closest by MSE on `size`-px copies (see module doc).
    """
    fake = _check_set(fake, "fake images")
    real = _check_set(real, "real images")
    if fake.shape[1:] != real.shape[1:]:
        raise MriGanError(f"fake and real images differ in size: {fake.shape[1:]} vs {real.shape[1:]}")
    n_real = len(real)
    if k <= 0 or k >= n_real:
        cand = np.tile(np.arange(n_real), (len(fake), 1))
        if exclude_self:
            cand = shortlist(fake, real, n_real, size, exclude_self=True, normalize=normalize)
    else:
        cand = shortlist(fake, real, k, size, exclude_self=exclude_self, normalize=normalize)
    # flatten (fake i, candidate j) pairs and run SSIM in big batches
    fi, cj = np.nonzero(cand >= 0)
    rj = cand[fi, cj]
    scores = np.full(cand.shape, -np.inf)
    step = max(SSIM_BATCH, (1 << 24) // (fake.shape[1] * fake.shape[2]))  # ~64 MB of float pixels per chunk
    it = range(0, len(fi), step)
    for s in progress(it, total=len(it), desc=desc, disable=None if show_progress else True):
        sl = slice(s, s + step)
        scores[fi[sl], cj[sl]] = pair_scores(fake[fi[sl]], real[rj[sl]], np.inf)["ssim"]
    best = scores.argmax(1)
    best_ssim = scores[np.arange(len(fake)), best]
    best_idx = cand[np.arange(len(fake)), best]
    if np.any(best_idx < 0):
        raise MriGanError("nearest_real: a set needs at least two distinct images to exclude self-matches")
    return best_idx, best_ssim


def random_pairing(n_fake: int, n_real: int, seed: int) -> np.ndarray:
    """Seeded uniform random real index for each fake."""
    return np.random.default_rng(seed).integers(0, n_real, size=n_fake)


def _mean_std(x: np.ndarray) -> dict:
    return {"mean": float(np.mean(x)), "std": float(np.std(x))}


def pixel_metrics(real: np.ndarray, fake: np.ndarray, eval_cfg, show_progress: bool = True) -> dict:
    """PSNR/MSE/SSIM under both pairings: {"psnr": {"nearest": {mean, std}, "random": {...}}, ...}
    plus "nearest_index" (array, index into `real` of each fake's nearest real)."""
    real = _check_set(real, "real images")
    fake = _check_set(fake, "fake images")
    idx, _ = nearest_real(fake, real, eval_cfg.shortlist_k, eval_cfg.shortlist_size, show_progress=show_progress,
                          normalize=eval_cfg.shortlist_normalize)
    near = pair_scores(fake, real[idx], eval_cfg.psnr_cap)
    rnd = pair_scores(fake, real[random_pairing(len(fake), len(real), eval_cfg.seed)], eval_cfg.psnr_cap)
    out = {m: {"nearest": _mean_std(near[m]), "random": _mean_std(rnd[m])} for m in ("psnr", "mse", "ssim")}
    out["nearest_index"] = idx
    out["nearest_ssim"] = near["ssim"]
    return out
