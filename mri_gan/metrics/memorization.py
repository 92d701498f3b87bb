"""Memorization audit: is a fake a copy of a training image?

For each fake we find its nearest training image twice: by pixel SSIM (the shortlist search of
`pixel.nearest_real`) and, when features are given, by Euclidean distance in feature space.

"Close" has to be calibrated, because MRI slices of one class all look alike. The threshold
comes from real-vs-real pairs: for every training image, its nearest OTHER distinct training
image (the image itself and its byte-identical copies are excluded; near duplicates, e.g. the
same slice re-encoded, are kept: they are exactly what a copy looks like). Then
- pixel:   threshold = the (1 - q) quantile of those nearest-neighbour SSIMs; a fake is a copy
           when its nearest-training SSIM is above it;
- feature: threshold = the q quantile of the nearest-neighbour feature distances; a fake is a
           copy when its nearest-training distance is below it;
with q = `eval.copy_quantile` (default 0.01). So a fake counts as a copy when it is closer to a
training image than 99% of training images are to their closest distinct neighbour. Fakes
drawn from the training distribution (but not copies) give a copy rate near q; copies give 1.
`copy_rate` (the headline) is the pixel-SSIM rate; `copy_rate_features` is reported beside it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mri_gan.metrics.distribution import pairwise_distances
from mri_gan.metrics.pixel import nearest_real


def calibrate_pixel_threshold(train: np.ndarray, eval_cfg, show_progress: bool = True) -> tuple[float, np.ndarray]:
    """(threshold SSIM, nearest-other-distinct SSIM of each training image)."""
    _, nn = nearest_real(train, train, eval_cfg.shortlist_k, eval_cfg.shortlist_size, exclude_self=True,
                         show_progress=show_progress, desc="real-vs-real", normalize=eval_cfg.shortlist_normalize)
    return float(np.quantile(nn, 1.0 - eval_cfg.copy_quantile)), nn


def nearest_feature(fake_act, train_act, exclude_self: bool = False, train_uint8=None) -> tuple[np.ndarray, np.ndarray]:
    """(index, Euclidean distance) of each fake's nearest training activation."""
    d = pairwise_distances(np.asarray(fake_act, np.float64), np.asarray(train_act, np.float64))
    if exclude_self:
        np.fill_diagonal(d, np.inf)
        if train_uint8 is not None:  # byte-identical copies are not "other" images
            flat = train_uint8.reshape(len(train_uint8), -1)
            _, inv = np.unique(flat, axis=0, return_inverse=True)
            d[inv.ravel()[:, None] == inv.ravel()[None, :]] = np.inf
    idx = d.argmin(1)
    return idx, d[np.arange(len(d)), idx]


def memorization(fake: np.ndarray, train: np.ndarray, eval_cfg, fake_act=None, train_act=None,
                 show_progress: bool = True, nearest=None) -> dict:
    """Copy audit (see module doc). `nearest`: optional precomputed (index, ssim) of fake vs train."""
    q = eval_cfg.copy_quantile
    if nearest is None:
        nearest = nearest_real(fake, train, eval_cfg.shortlist_k, eval_cfg.shortlist_size,
                               show_progress=show_progress, desc="fake-vs-train",
                               normalize=eval_cfg.shortlist_normalize)
    idx, ssim = nearest
    thr, nn = calibrate_pixel_threshold(train, eval_cfg, show_progress)
    out = {
        "copy_rate": float(np.mean(ssim > thr)),
        "copy_threshold_ssim": thr,
        "copy_quantile": q,
        "nearest_train_ssim": {"mean": float(ssim.mean()), "max": float(ssim.max()), "min": float(ssim.min())},
        "real_vs_real_ssim": {"mean": float(nn.mean()), "max": float(nn.max()), "median": float(np.median(nn))},
        "_nearest_index": idx,
        "_nearest_ssim": ssim,
    }
    if fake_act is not None and train_act is not None:
        fidx, fdist = nearest_feature(fake_act, train_act)
        _, rr = nearest_feature(train_act, train_act, exclude_self=True, train_uint8=train)
        fthr = float(np.quantile(rr, q))
        out.update({
            "copy_rate_features": float(np.mean(fdist < fthr)),
            "copy_threshold_feature_distance": fthr,
            "nearest_train_feature_distance": {"mean": float(fdist.mean()), "min": float(fdist.min())},
        })
    return out


def worst_examples_figure(fake: np.ndarray, train: np.ndarray, idx: np.ndarray, ssim: np.ndarray, n: int,
                          path: str | Path, threshold: float | None = None) -> Path:
    """PNG with the `n` fakes most similar to a training image: fake | nearest real, SSIM above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mri_gan.utils import atomic_write_bytes

    order = np.argsort(-ssim, kind="stable")[:max(1, n)]
    rows = len(order)
    fig, axes = plt.subplots(rows, 2, figsize=(4, 2 * rows), squeeze=False)
    for r, i in enumerate(order):
        for c, (img, title) in enumerate(((fake[i], f"fake #{i}"), (train[idx[i]], f"nearest real #{idx[i]}"))):
            ax = axes[r, c]
            ax.imshow(img, cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=7)
        flag = " COPY" if threshold is not None and ssim[i] > threshold else ""
        axes[r, 0].set_ylabel(f"SSIM {ssim[i]:.3f}{flag}", fontsize=7)
    thr = f" (copy threshold SSIM {threshold:.3f})" if threshold is not None else ""
    fig.suptitle(f"fakes closest to a training image{thr}", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path
