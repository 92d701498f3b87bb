"""Distribution metrics computed from activations (N, D), so the feature extractor is a parameter.

- Fréchet distance (Heusel et al. 2017, "GANs trained by a two time-scale update rule"):
  FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). The trace of the matrix square root is
  computed as sum(sqrt(eig(sqrt(S1) S2 sqrt(S1)))): that matrix is symmetric positive
  semi-definite, so `numpy.linalg.eigh` gives real eigenvalues (tiny negative ones from
  round-off are clipped to 0) and no imaginary part can appear, unlike `scipy.linalg.sqrtm`
  on the non-symmetric product S1 S2 (the tests check both agree). FID is biased: with fewer
  than ~1000 images per set its expected value is noticeably above the true distance.
- KID (Bińkowski et al. 2018, "Demystifying MMD GANs"): unbiased MMD^2 with the polynomial
  kernel k(x, y) = (x.y / D + 1)^3, averaged over `subsets` random subsets of `subset_size`
  images from each set (mean and std reported). Unbiased: its expectation is 0 for two samples
  of one distribution, whatever the sample size (it can be slightly negative).
- Improved precision / recall (Kynkäänniemi et al. 2019): the real manifold is the union of
  balls around each real feature with radius = distance to its k-th nearest real neighbour;
  precision = share of fakes inside the real manifold, recall = share of reals inside the fake
  manifold (built the same way from the fakes).
- Density / coverage (Naeem et al. 2020): density = (1 / (k M)) sum over fakes of the number of
  real balls containing it (can exceed 1); coverage = share of real balls containing at least one
  fake. Both use only real-sample balls, so they are robust to fake outliers.
"""

from __future__ import annotations

import numpy as np

from mri_gan.errors import MriGanError


def _acts(a, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or len(a) < 2:
        raise MriGanError(f"{what}: expected activations (N >= 2, D), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise MriGanError(f"{what}: activations contain NaN or inf")
    return a


def feature_stats(act) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, N-1) covariance of activations (N, D)."""
    act = _acts(act, "activations")
    return act.mean(0), np.cov(act, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance_from_stats(mu1, s1, mu2, s2) -> float:
    """Fréchet distance between N(mu1, s1) and N(mu2, s2) (see module doc for the method)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    s1, s2 = np.atleast_2d(s1), np.atleast_2d(s2)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise MriGanError(f"Fréchet distance: feature sizes differ ({mu1.shape} vs {mu2.shape})")
    r1 = _sqrt_psd(s1)
    w = np.linalg.eigvalsh(r1 @ s2 @ r1)
    tr_covmean = np.sqrt(np.clip(w, 0.0, None)).sum()
    diff = mu1 - mu2
    fd = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(fd, 0.0)  # round-off can leave -1e-12 for identical sets


def frechet_distance(act1, act2) -> float:
    """FID-style Fréchet distance between two activation sets (N1, D) and (N2, D)."""
    return frechet_distance_from_stats(*feature_stats(act1), *feature_stats(act2))


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / D + 1)^3, the KID kernel."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 estimate with the polynomial kernel (diagonals of Kxx, Kyy left out)."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.mean())


def kid(act1, act2, subsets: int = 50, subset_size: int = 100, seed: int = 0) -> dict:
    """KID: {"mean", "std"} of the unbiased MMD^2 over `subsets` random subsets (without
    replacement within a subset) of min(subset_size, N1, N2) images from each set."""
    a1, a2 = _acts(act1, "activations 1"), _acts(act2, "activations 2")
    m = min(subset_size, len(a1), len(a2))
    rng = np.random.default_rng(seed)
    vals = np.array([mmd2_unbiased(a1[rng.choice(len(a1), m, replace=False)], a2[rng.choice(len(a2), m, replace=False)])
                     for _ in range(max(1, subsets))])
    return {"mean": float(vals.mean()), "std": float(vals.std()), "subsets": int(len(vals)), "subset_size": int(m)}


def pairwise_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.sqrt(np.maximum(d, 0.0))


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row of x to its k-th nearest other row (the row itself excluded)."""
    if len(x) <= k:
        raise MriGanError(f"k-NN radii need more than k={k} samples, got {len(x)}")
    d = pairwise_distances(x, x)
    np.fill_diagonal(d, np.inf)
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def precision_recall_density_coverage(real_act, fake_act, k: int = 5) -> dict:
    """Improved precision/recall (Kynkäänniemi 2019) and density/coverage (Naeem 2020)."""
    real = _acts(real_act, "real activations")
    fake = _acts(fake_act, "fake activations")
    real_r = knn_radii(real, k)
    fake_r = knn_radii(fake, k)
    d = pairwise_distances(real, fake)  # (N_real, N_fake)
    inside_real = d <= real_r[:, None]  # fake j inside real ball i
    return {
        "precision": float(inside_real.any(0).mean()),
        "recall": float((d <= fake_r[None, :]).any(1).mean()),
        "density": float(inside_real.sum(0).mean() / k),
        "coverage": float((d.min(1) <= real_r).mean()),
    }
