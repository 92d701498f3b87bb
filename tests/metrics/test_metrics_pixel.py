"""PSNR/MSE/SSIM and the nearest/random pairing: known answers and agreement with scikit-image."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import synthetic_head
from mri_gan.config import EvalConfig
from mri_gan.metrics import pixel


def heads(n, size=32, cls=0, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([synthetic_head(size, cls, rng) for _ in range(n)])


def noisy(a, sigma, seed=1):
    rng = np.random.default_rng(seed)
    return np.clip(a.astype(np.float32) + rng.normal(0, sigma, a.shape), 0, 255).astype(np.uint8)


def test_identical_sets_give_cap_zero_one():
    real = heads(12)
    cfg = EvalConfig(psnr_cap=100.0)
    res = pixel.pixel_metrics(real, real.copy(), cfg, show_progress=False)
    assert res["psnr"]["nearest"]["mean"] == 100.0  # inf capped, documented
    assert res["mse"]["nearest"]["mean"] == 0.0
    assert res["ssim"]["nearest"]["mean"] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(res["nearest_index"], np.arange(12))
    assert res["ssim"]["random"]["mean"] < 0.95  # random pairs are different images


def test_tf_ssim_psnr_agree_with_skimage():
    # Tolerance: 1e-4 for SSIM (float32 in TF vs float64 in skimage), 1e-3 dB for PSNR.
    a = heads(4, size=48)
    b = noisy(a, 20)
    s = pixel.pair_scores(a, b, psnr_cap=100.0)
    for i in range(len(a)):
        x, y = a[i] / 255.0, b[i] / 255.0
        ref_ssim = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                         data_range=1.0)
        assert s["ssim"][i] == pytest.approx(ref_ssim, abs=1e-4)
        assert s["psnr"][i] == pytest.approx(peak_signal_noise_ratio(x, y, data_range=1.0), abs=1e-3)
        assert s["mse"][i] == pytest.approx(np.mean((x - y) ** 2), rel=1e-4)


def test_shortlist_nearest_equals_exhaustive():
    real = heads(60, seed=3)
    fake = noisy(real[::3], 12, seed=4)  # 20 noisy copies: the right answer is known
    idx_k, s_k = pixel.nearest_real(fake, real, k=5, size=16, show_progress=False)
    idx_all, s_all = pixel.nearest_real(fake, real, k=0, size=16, show_progress=False)
    np.testing.assert_array_equal(idx_k, idx_all)
    np.testing.assert_array_equal(idx_all, np.arange(0, 60, 3))
    np.testing.assert_allclose(s_k, s_all)
    # random fakes (no planted answer): the shortlist still finds the exhaustive optimum here
    other = heads(15, seed=9)
    i1, v1 = pixel.nearest_real(other, real, k=10, size=16, show_progress=False)
    i2, v2 = pixel.nearest_real(other, real, k=0, size=16, show_progress=False)
    assert np.mean(i1 == i2) >= 0.9 and np.max(v2 - v1) < 0.02


def test_exclude_self_skips_self_and_duplicates():
    real = heads(10, seed=5)
    real[7] = real[2]  # a byte-identical duplicate is not an "other" image
    idx, s = pixel.nearest_real(real, real, k=4, size=16, exclude_self=True, show_progress=False)
    assert np.all(idx != np.arange(10))
    assert idx[2] != 7 and idx[7] != 2
    assert np.all(s < 1.0)


def test_random_pairing_is_seeded():
    a = pixel.random_pairing(50, 30, seed=1)
    np.testing.assert_array_equal(a, pixel.random_pairing(50, 30, seed=1))
    assert not np.array_equal(a, pixel.random_pairing(50, 30, seed=2))
    assert a.min() >= 0 and a.max() < 30


def test_bad_inputs_are_one_line_errors():
    from mri_gan.errors import MriGanError

    with pytest.raises(MriGanError):
        pixel.nearest_real(heads(2), heads(2, size=16), show_progress=False)
    with pytest.raises(MriGanError):
        pixel.nearest_real(np.zeros((2, 8, 8), np.float32), heads(2), show_progress=False)
    with pytest.raises(MriGanError):
        pixel.pixel_metrics(heads(2), np.zeros((0, 32, 32), np.uint8), EvalConfig(), show_progress=False)
