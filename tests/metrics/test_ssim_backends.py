"""PSNR / MSE / SSIM / MS-SSIM and the feature models' resize are keras.ops code
(mri_gan/metrics/ssim.py, features.py): on JAX (a child process, tests/metrics/ssim_probe.py) and
on TensorFlow they must give tf.image's numbers on fixed random and structured images at 16, 32
and 64 px (MS-SSIM: 1, 2 and 3 scales) and at 33 px (odd sizes), batches both below and above
SSIM_BATCH."""

from __future__ import annotations

import numpy as np
import pytest

from tests.jax_runner import needs_jax, result, run_jax

tf = pytest.importorskip("tensorflow")

# tf.image's own float32 rounding reaches 3.3e-5 on these SSIMs against a float64 computation
# (`_ssim_float64`). Ours (matrix products on both backends since 2026-12-05; TensorFlow
# used tf.image's depthwise convolution before, and shared its rounding) stays within 4e-6 of
# float64, so within 3.3e-5 of tf.image. So SSIM / MS-SSIM: within TOL of float64 and LOOSE of
# tf.image on both backends.
TOL = 1e-5  # also MSE (0-1 scale) and resized pixels; PSNR in dB: TOL x 10
LOOSE = 5e-5
# pairs per size: 300 > SSIM_BATCH (256), the others padded to 16 / 64 / 32; 33 px: MS-SSIM's
# odd-sized downsampling (2 scales)
SIZES = {16: 300, 32: 37, 33: 12, 64: 20}


def _images(size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of uint8 images: half uniform noise vs noisier copies, half synthetic heads vs
    shifted / blurred / contrast-changed ones, plus an identical pair and a blank pair."""
    import cv2

    from tests.conftest import synthetic_head

    rng = np.random.default_rng(size)
    a = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)
    for i in range(n // 2, n):
        h = synthetic_head(size, i % 4, rng)
        a[i] = h
        kind = i % 3
        if kind == 0:
            b[i] = np.roll(h, (1 + i % 3, -(i % 2)), axis=(0, 1))
        elif kind == 1:
            b[i] = cv2.GaussianBlur(h, (5, 5), 1.0)
        else:
            b[i] = np.clip(h * 0.7 + 30, 0, 255).astype(np.uint8)
    b[0] = a[0]  # identical: SSIM 1, PSNR inf
    a[1] = b[1] = 0  # blank
    return a, b


def _reference(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """tf.image on the whole set at once (no batching, no padding)."""
    from mri_gan.metrics.diversity import ms_ssim_params

    x = tf.constant(a[..., None].astype(np.float32) / 255.0)
    y = tf.constant(b[..., None].astype(np.float32) / 255.0)
    pf, fs = ms_ssim_params(a.shape[1])
    ms = (tf.image.ssim(x, y, 1.0, filter_size=fs) if len(pf) == 1
          else tf.image.ssim_multiscale(x, y, 1.0, power_factors=pf, filter_size=fs))
    return {"psnr": tf.image.psnr(x, y, 1.0).numpy(), "mse": tf.reduce_mean(tf.square(x - y), [1, 2, 3]).numpy(),
            "ssim": tf.image.ssim(x, y, 1.0).numpy(), "ms_ssim": ms.numpy()}


def _ssim_float64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM (11 px Gaussian, sigma 1.5, 'VALID') in float64 with SciPy: the truth both are held to."""
    from scipy.signal import convolve2d

    from mri_gan.metrics.ssim import gaussian_taps

    g = gaussian_taps(11)
    w = np.outer(g, g)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    out = []
    for u, v in zip(a.astype(np.float64) / 255.0, b.astype(np.float64) / 255.0):
        f = lambda z: convolve2d(z, w, mode="valid")  # noqa: E731 - symmetric window: no flip needed
        mx, my = f(u), f(v)
        num0, den0 = 2 * mx * my, mx * mx + my * my
        cs = (2 * f(u * v) - num0 + c2) / (f(u * u + v * v) - den0 + c2)
        out.append(np.mean((num0 + c1) / (den0 + c1) * cs))
    return np.asarray(out)


def _resize_reference(a: np.ndarray, hw: int, ch: int) -> np.ndarray:
    x = tf.constant(a[..., None].astype(np.float32) / 127.5 - 1.0)
    return tf.repeat(tf.image.resize(x, (hw, hw), method="bilinear", antialias=True), ch, axis=-1).numpy()


def _check(got: dict, size: int, a: np.ndarray, b: np.ndarray, tf_tol: float, exact_tol: float) -> dict[str, float]:
    ref = _reference(a, b)
    diffs = {}
    for m, r in ref.items():
        g = np.asarray(got[m], np.float64)
        assert g.shape == r.shape, (size, m)
        finite = np.isfinite(r)
        np.testing.assert_array_equal(np.isfinite(g), finite, err_msg=f"{size} px {m}: inf where tf.image has")
        diffs[m] = float(np.abs(g[finite] - r[finite]).max())
        assert diffs[m] <= {"psnr": 10 * TOL, "mse": TOL}.get(m, tf_tol), (size, m, diffs[m])
    assert ref["ssim"][0] == pytest.approx(1.0) and not np.isfinite(ref["psnr"][0])  # the identical pair
    exact = _ssim_float64(a, b)
    diffs["ssim_vs_float64"] = float(np.abs(np.asarray(got["ssim"]) - exact).max())
    assert diffs["ssim_vs_float64"] <= exact_tol, (size, diffs)
    return diffs


def _inputs() -> dict[str, np.ndarray]:
    out = {}
    for size, n in SIZES.items():
        out[f"{size}_a"], out[f"{size}_b"] = _images(size, n)
    return out


@needs_jax
def test_keras_ops_metrics_on_jax_match_tf_image(tmp_path):
    data = _inputs()
    np.savez(tmp_path / "in.npz", **data)
    from tests.metrics import ssim_probe

    r = result(run_jax([ssim_probe.__file__, tmp_path / "in.npz", tmp_path / "out.npz"], timeout=300))
    assert r == {"backend": "jax", "tensorflow": False}
    with np.load(tmp_path / "out.npz") as f:
        got = {k: f[k] for k in f.files}
    for size in SIZES:
        a, b = data[f"{size}_a"], data[f"{size}_b"]
        _check({m: got[f"{size}_{m}"] for m in ("psnr", "mse", "ssim", "ms_ssim")}, size, a, b, LOOSE, TOL)
        for hw, ch in ((size // 2, 1), (size + 11, 3)):
            g = got[f"{size}_prep_{hw}_{ch}"]
            np.testing.assert_allclose(g, _resize_reference(a[:8], hw, ch), atol=TOL, rtol=0, err_msg=f"{size}->{hw}")


def test_keras_ops_metrics_on_tensorflow_match_tf_image():
    from mri_gan.metrics import diversity, pixel
    from mri_gan.metrics.features import FeatureExtractor
    from tests.metrics.ssim_probe import fake_model

    data = _inputs()
    for size in SIZES:
        a, b = data[f"{size}_a"], data[f"{size}_b"]
        got = pixel.pair_scores(a, b, psnr_cap=np.inf)
        got["ms_ssim"] = diversity.ms_ssim_pairs(a, b)
        _check(got, size, a, b, LOOSE, TOL)
        x = np.asarray(FeatureExtractor(fake_model(size // 2, 3), "probe")._prepare(a[:8]))
        np.testing.assert_allclose(x, _resize_reference(a[:8], size // 2, 3), atol=TOL, rtol=0)
