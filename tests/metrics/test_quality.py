"""QualityProbe: known answers on planted sets (no training: a fixed pixel feature function)."""

from __future__ import annotations

import numpy as np
import pytest

from mri_gan.config import EvalConfig
from mri_gan.metrics.quality import QualityProbe, meets_targets
from tests.conftest import synthetic_head


def _heads(n, seed, size=32):
    rng = np.random.default_rng(seed)
    return np.stack([synthetic_head(size, int(rng.integers(0, 4)), rng) for _ in range(n)])


def _features(x):
    # 8x8 block means: a fixed, deterministic feature map of the pixels
    x = np.asarray(x, np.float64) / 255.0
    return x.reshape(len(x), 8, x.shape[1] // 8, 8, x.shape[2] // 8).mean(axis=(2, 4)).reshape(len(x), -1)


@pytest.fixture(scope="module")
def probe():
    cfg = EvalConfig(kid_subsets=10, kid_subset_size=40, ms_ssim_pairs=100)
    return QualityProbe(_heads(120, 0), _features, cfg, n_fake=60)


def test_equal_set_sizes_and_fresh_draws_score_well(probe):
    row = probe.measure(_heads(80, 1))
    assert row["n_fake"] == row["n_real"] == 60  # equal sizes: fakes cut to n, reals a fixed subset of n
    assert row["recall"] > 0.6 and row["coverage"] > 0.6 and row["precision"] > 0.6
    assert row["ms_ssim_ratio"] == pytest.approx(1.0, abs=0.25)
    assert row["kid"] < 0.01
    assert row["copy_rate"] <= 0.1  # new draws of the same distribution are not copies


def test_one_repeated_image_is_a_collapse(probe):
    one = np.repeat(_heads(1, 2), 60, axis=0)
    row = probe.measure(one)
    assert row["recall"] < 0.1 and row["coverage"] < 0.1
    assert row["ms_ssim_fake"] == pytest.approx(1.0, abs=1e-6) and row["ms_ssim_ratio"] > 2
    assert not meets_targets(row)["recall"] and not meets_targets(row)["ms_ssim_ratio"]


def test_copies_of_training_images_are_counted(probe):
    row = probe.measure(probe.real[:60])
    assert row["copy_rate"] == pytest.approx(1.0) and row["nearest_ssim"] == pytest.approx(1.0, abs=1e-4)


def test_the_nearest_ssim_target_is_the_configured_one_and_travels_with_the_row():
    fakes = _heads(80, 1)
    rows = {t: QualityProbe(_heads(120, 0), None, EvalConfig(ms_ssim_pairs=50, nearest_ssim_target=t), 60).measure(fakes)
            for t in (0.2, 0.99)}
    ssim = rows[0.2]["nearest_ssim"]
    assert 0.2 < ssim < 0.99 and rows[0.99]["nearest_ssim"] == ssim  # same fakes, same measurement
    assert rows[0.2]["nearest_ssim_target"] == 0.2 and meets_targets(rows[0.2])["nearest_ssim"]
    assert rows[0.99]["nearest_ssim_target"] == 0.99 and not meets_targets(rows[0.99])["nearest_ssim"]
    old = {k: v for k, v in rows[0.2].items() if k != "nearest_ssim_target"}  # a row measured before the key
    assert meets_targets(old)["nearest_ssim"] == (ssim >= 0.45)
