"""`QualityProbe`: the few numbers that say whether a generator is any good, cheap enough to
compute while training (stylegan2-ada's "metrics during training").

Built once per run from the real TRAINING images of the class and a feature extractor (the
cached feature classifier of `evaluate`, see features.py); `measure(fake_uint8)` then returns

- kid, fid: distribution distances in feature space (lower is better);
- precision, recall, density, coverage (k-NN manifolds, k = eval.pr_k) with EQUAL set sizes:
  the reals are a fixed seeded subset of as many images as there are fakes (recall and coverage
  grow with the size of the fake set, so unequal sizes flatter or punish the generator);
- ms_ssim_fake, ms_ssim_real and their ratio: diversity within each set (mode collapse shows as
  ratio >> 1; a healthy generator is near 1);
- nearest_ssim: mean SSIM of each fake to its most similar training image (realism at the
  pixel level) and copy_rate: the share of fakes closer to a training image than 99 % of
  training images are to their closest distinct neighbour (memorization.py).

The same functions as `evaluate` (distribution, diversity, pixel, memorization), so a number
logged while training and one from `mrigan-tf evaluate` on the same images agree, except that
`evaluate` compares with all the reals for KID/FID and does not equalise the set sizes.
"""

from __future__ import annotations

import time

import numpy as np

import mri_gan.metrics.distribution as distribution
import mri_gan.metrics.diversity as diversity
import mri_gan.metrics.pixel as pixel
from mri_gan.config import EvalConfig
from mri_gan.metrics.memorization import calibrate_pixel_threshold

# Targets of a generator worth using (docs/defaults.md), checked by `meets_targets`; the nearest-real
# SSIM one is eval.nearest_ssim_target (its default here), as each measurement row records it.
TARGETS = {"recall": (">=", 0.40), "coverage": (">=", 0.40), "ms_ssim_ratio": ("<=", 1.25),
           "kid": ("<=", 0.08), "nearest_ssim": (">=", EvalConfig.nearest_ssim_target), "copy_rate": ("<=", 0.01)}


def meets_targets(row: dict) -> dict[str, bool]:
    """{metric: met?} for each of TARGETS found in `row`; the nearest-real SSIM target is the row's
    own `nearest_ssim_target` where it has one (eval.nearest_ssim_target when it was measured)."""
    out = {}
    for k, (op, v) in TARGETS.items():
        if k == "nearest_ssim" and row.get("nearest_ssim_target") is not None:
            v = row["nearest_ssim_target"]
        if row.get(k) is not None:
            out[k] = row[k] >= v if op == ">=" else row[k] <= v
    return out


class QualityProbe:
    """Quality of fake sets of a fixed size `n_fake` against `real_uint8` (N, H, W) uint8."""

    def __init__(self, real_uint8: np.ndarray, feature_fn, eval_cfg, n_fake: int, pixel_metrics: bool = True):
        self.real = pixel._check_set(real_uint8, "real images")
        self.cfg = eval_cfg
        self.feature_fn = feature_fn
        self.n = int(min(n_fake, len(self.real)))
        rng = np.random.default_rng([eval_cfg.seed, 11])
        self.subset = np.sort(rng.choice(len(self.real), self.n, replace=False))
        self.real_act = np.asarray(feature_fn(self.real[self.subset]), np.float64) if feature_fn else None
        self.ms_ssim_real = diversity.mean_pairwise_ms_ssim(self.real, eval_cfg.ms_ssim_pairs, eval_cfg.seed)
        self.pixel_metrics = bool(pixel_metrics)
        self.copy_threshold = None
        if self.pixel_metrics:
            self.copy_threshold, _ = calibrate_pixel_threshold(self.real, eval_cfg, show_progress=False)

    def measure(self, fake_uint8: np.ndarray) -> dict:
        t0 = time.perf_counter()
        fake = pixel._check_set(fake_uint8, "fake images")[: self.n]
        row = {"n_fake": int(len(fake)), "n_real": int(self.n)}
        if self.feature_fn is not None:
            fa = np.asarray(self.feature_fn(fake), np.float64)
            k = distribution.kid(self.real_act, fa, self.cfg.kid_subsets, self.cfg.kid_subset_size, self.cfg.seed)
            row["kid"] = k["mean"]
            row["fid"] = distribution.frechet_distance(self.real_act, fa)
            k_nn = min(self.cfg.pr_k, len(fake) - 1, self.n - 1)
            row.update(distribution.precision_recall_density_coverage(self.real_act, fa, k_nn))
        row["ms_ssim_fake"] = diversity.mean_pairwise_ms_ssim(fake, self.cfg.ms_ssim_pairs, self.cfg.seed)
        row["ms_ssim_real"] = self.ms_ssim_real
        row["ms_ssim_ratio"] = row["ms_ssim_fake"] / max(self.ms_ssim_real, 1e-12)
        if self.pixel_metrics:
            idx, ssim = pixel.nearest_real(fake, self.real, self.cfg.shortlist_k, self.cfg.shortlist_size,
                                           show_progress=False, normalize=self.cfg.shortlist_normalize)
            row["nearest_ssim"] = float(np.mean(ssim))
            row["copy_rate"] = float(np.mean(ssim > self.copy_threshold))
            row["nearest_ssim_target"] = float(self.cfg.nearest_ssim_target)
        row["seconds"] = round(time.perf_counter() - t0, 2)
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()}
