"""Fréchet distance, KID, precision/recall, density/coverage: closed forms and independent checks."""

import numpy as np
import pytest
from scipy import linalg

from mri_gan.metrics import distribution as dist


def scipy_fd(mu1, s1, mu2, s2):
    """The usual pytorch-fid formula with scipy.linalg.sqrtm, as an independent reference."""
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    d = mu1 - mu2
    return d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def test_fd_matches_scipy_sqrtm_on_random_gaussians():
    # Tolerance: relative 1e-6.
    rng = np.random.default_rng(0)
    for d in (3, 16):
        a = rng.normal(size=(400, d)) @ rng.normal(size=(d, d))
        b = rng.normal(loc=0.3, size=(300, d)) @ rng.normal(size=(d, d))
        mine = dist.frechet_distance(a, b)
        ref = scipy_fd(*dist.feature_stats(a), *dist.feature_stats(b))
        assert mine == pytest.approx(ref, rel=1e-6)


def test_fd_closed_forms():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(5, 5))
    s = m @ m.T + np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    # equal covariances: only the means count
    assert dist.frechet_distance_from_stats(mu1, s, mu2, s) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-9, abs=1e-9)
    # diagonal covariances: sum (sqrt(a) - sqrt(b))^2 + |dmu|^2
    a, b = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    ref = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum((mu1 - mu2) ** 2)
    assert dist.frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(ref, rel=1e-9)
    # identical activations: 0
    x = rng.normal(size=(50, 8))
    assert dist.frechet_distance(x, x.copy()) == pytest.approx(0.0, abs=1e-9)


def test_fd_of_singular_covariances_is_finite():
    # fewer samples than dimensions: singular covariances, where sqrtm often leaves imaginary parts
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(10, 32)), rng.normal(size=(12, 32))
    v = dist.frechet_distance(a, b)
    assert np.isfinite(v) and v > 0


def test_kid_is_unbiased():
    # Expectation 0 for two samples of one distribution: the mean over 300 independent draws of
    # size 30 lies within 4 standard errors of 0; a shifted distribution gives a clearly larger value.
    rng = np.random.default_rng(3)
    vals = [dist.mmd2_unbiased(rng.normal(size=(30, 8)), rng.normal(size=(30, 8))) for _ in range(300)]
    se = np.std(vals) / np.sqrt(len(vals))
    assert abs(np.mean(vals)) < 4 * se
    shifted = dist.kid(rng.normal(size=(200, 8)), rng.normal(0.5, size=(200, 8)), subsets=20, subset_size=50)
    same = dist.kid(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)), subsets=20, subset_size=50)
    assert shifted["mean"] > 10 * abs(same["mean"]) and shifted["mean"] > 3 * shifted["std"]
    assert same["subset_size"] == 50 and same["subsets"] == 20


def test_kid_subsets_are_seeded_and_capped():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(40, 4)), rng.normal(size=(30, 4))
    assert dist.kid(a, b, 5, 100, seed=7) == dist.kid(a, b, 5, 100, seed=7)
    assert dist.kid(a, b, 5, 100)["subset_size"] == 30


def test_prdc_known_answers():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(200, 4))
    same = dist.precision_recall_density_coverage(real, real.copy(), k=5)
    assert same["precision"] == 1.0 and same["recall"] == 1.0 and same["coverage"] == 1.0
    assert same["density"] >= 1.0  # each fake sits in its own ball plus neighbours'
    collapsed = dist.precision_recall_density_coverage(real, np.repeat(real[:1], 50, 0), k=5)
    assert collapsed["precision"] == 1.0  # the one mode is realistic...
    assert collapsed["recall"] <= 0.01  # ...but covers no variety
    assert collapsed["coverage"] < 0.1
    far = dist.precision_recall_density_coverage(real, rng.normal(10, 1, size=(100, 4)), k=5)
    assert far["precision"] == 0.0 and far["coverage"] == 0.0 and far["density"] == 0.0
