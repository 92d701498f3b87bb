"""evaluate_sets / evaluate_dirs end to end on synthetic heads, diversity, feature extractors, CLI."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import synthetic_head
from mri_gan.config import EvalConfig, load_config
from mri_gan.metrics import diversity, evaluate_sets, format_table


def heads(n, size=32, cls=0, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([synthetic_head(size, cls, rng) for _ in range(n)])


def pixel_features(x):
    """A cheap offline extractor for tests: 8x8 area-averaged pixels in [0, 1]."""
    import cv2

    return np.stack([cv2.resize(i, (8, 8), interpolation=cv2.INTER_AREA) for i in x]).reshape(len(x), -1) / 255.0


CFG = EvalConfig(ms_ssim_pairs=60, kid_subsets=10, kid_subset_size=30, shortlist_k=5, shortlist_size=16)


def test_identical_sets(tmp_path):
    real = heads(40)
    r = evaluate_sets(real, real.copy(), CFG, feature_fn=pixel_features, progress=False, figure_path=tmp_path / "f.png")
    assert r["psnr"]["nearest"]["mean"] == CFG.psnr_cap
    assert r["mse"]["nearest"]["mean"] == 0.0
    assert r["ssim"]["nearest"]["mean"] == pytest.approx(1.0, abs=1e-6)
    assert r["fid"] == pytest.approx(0.0, abs=1e-8)
    assert r["copy_rate"] == 1.0 and r["copy_rate_features"] == 1.0
    assert r["precision"] == 1.0 and r["recall"] == 1.0
    assert r["ms_ssim_fake"] == pytest.approx(r["ms_ssim_real"])
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert r["counts"] == {"real": 40, "fake": 40, "train_real": 40} and r["size"] == [32, 32]
    json.dumps(r)  # JSON-able as is
    assert "FID" in format_table(r)


def test_fid_grows_with_noise_and_shift():
    real = heads(60)
    fids = [evaluate_sets(real, np.clip(real + np.random.default_rng(1).normal(0, s, real.shape), 0, 255).astype(np.uint8),
                          CFG, feature_fn=pixel_features, progress=False)["fid"] for s in (4, 16, 48)]
    assert 0 < fids[0] < fids[1] < fids[2]
    shifted = evaluate_sets(real, np.roll(real, 3, axis=2), CFG, feature_fn=pixel_features, progress=False)
    assert shifted["fid"] > fids[0]


def test_disjoint_halves_are_not_copies():
    data = heads(120, seed=2)
    r = evaluate_sets(data[:60], data[60:], CFG, feature_fn=pixel_features, progress=False)
    assert r["copy_rate"] <= 0.05
    assert r["copy_rate_features"] <= 0.1
    assert r["ssim"]["nearest"]["mean"] < 0.99


def test_collapsed_fakes_low_recall_high_ms_ssim():
    real = heads(60, seed=3)
    fake = np.repeat(heads(1, seed=4), 40, axis=0)
    r = evaluate_sets(real, fake, CFG, feature_fn=pixel_features, progress=False)
    assert r["recall"] <= 0.05
    assert r["ms_ssim_fake"] == pytest.approx(1.0, abs=1e-5)
    assert r["ms_ssim_fake"] > r["ms_ssim_real"] + 0.1


def test_no_features_reports_null():
    r = evaluate_sets(heads(10), heads(10, seed=1), CFG, progress=False)
    assert r["fid"] is None and r["kid"] is None and r["precision"] is None and r["features"] is None
    assert "n/a" in format_table(r)


@pytest.mark.parametrize("size,scales,filt", [(256, 5, 11), (176, 5, 11), (128, 4, 7), (64, 3, 7), (32, 2, 7), (16, 1, 7), (8, 1, 7)])
def test_ms_ssim_params_fit_the_size(size, scales, filt):
    pf, fs = diversity.ms_ssim_params(size)
    assert (len(pf), fs) == (scales, min(filt, size))
    assert sum(pf) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_ms_ssim_identical_is_one(size):
    a = heads(3, size=size) if size >= 16 else np.random.default_rng(0).integers(0, 255, (3, size, size)).astype(np.uint8)
    np.testing.assert_allclose(diversity.ms_ssim_pairs(a, a), 1.0, atol=1e-5)
    # 3 images, 3 pairs (< 10 asked): the mean over all of them, from TF's MS-SSIM (or SSIM when
    # one scale fits) with the documented parameters: standard power factors, renormalised
    import tensorflow as tf

    u = tf.convert_to_tensor(a[..., None].astype(np.float32) / 255.0)
    i, j = [0, 0, 1], [1, 2, 2]
    x, y = tf.gather(u, i), tf.gather(u, j)
    if size >= 2 * 7 * 2:  # 32, 64: 2 and 3 scales with a 7 px filter
        pf = np.array(diversity.POWER_FACTORS[: {32: 2, 64: 3}[size]])
        ref = tf.image.ssim_multiscale(x, y, 1.0, power_factors=tuple(pf / pf.sum()), filter_size=7).numpy()
    else:
        ref = tf.image.ssim(x, y, 1.0, filter_size=min(7, size)).numpy()
    got = diversity.mean_pairwise_ms_ssim(a, 10)
    assert got == pytest.approx(float(np.mean(ref)), rel=1e-5)
    assert -1.0 < got < 0.999  # (random noise at 8 px can score below 0)


def test_inception_code_path_without_weights():
    """Random weights: the features mean nothing, so check what reaches the network instead:
    grayscale repeated to 3 channels, upsized to 299 px bilinearly, scaled as Keras' own
    `inception_v3.preprocess_input` scales RGB uint8 images."""
    import cv2
    import keras

    from mri_gan.metrics.features import inception_extractor

    ext = inception_extractor(weights=None, batch_size=2)
    imgs = heads(2, size=32)
    act = ext(imgs)
    assert act.shape == (2, 2048) and np.all(np.isfinite(act))
    assert ext.input_hw == (299, 299) and ext.channels == 3
    x = np.asarray(ext._prepare(imgs))
    assert x.shape == (2, 299, 299, 3) and x.dtype == np.float32
    rgb = np.stack([cv2.cvtColor(cv2.resize(i.astype(np.float32), (299, 299), interpolation=cv2.INTER_LINEAR),
                                 cv2.COLOR_GRAY2RGB) for i in imgs])
    ref = keras.applications.inception_v3.preprocess_input(rgb)
    np.testing.assert_allclose(x, ref, atol=2e-3)
    # the ends of the range: black -> -1, white -> +1
    ends = np.asarray(ext._prepare(np.stack([np.zeros((32, 32), np.uint8), np.full((32, 32), 255, np.uint8)])))
    np.testing.assert_allclose(ends[0], -1.0, atol=1e-6)
    np.testing.assert_allclose(ends[1], 1.0, atol=1e-6)


def test_inception_missing_weights_is_a_clear_error(tmp_path):
    from mri_gan.errors import MriGanError
    from mri_gan.metrics.features import inception_extractor

    with pytest.raises(MriGanError, match="nothing is downloaded"):
        inception_extractor(str(tmp_path / "missing.h5"))


def test_classifier_features_train_once_and_cache(tiny_prep, tmp_path):
    from mri_gan.metrics.features import classifier_extractor, model_extractor

    cfg = load_config(overrides=["eval.feature_epochs=1", "classifier.batch_size=32"])
    ext = classifier_extractor(tiny_prep, cfg.eval, cfg.classifier, show_progress=False)
    cached = list((tiny_prep / ".cache").glob("feature_classifier_*.keras"))
    assert len(cached) == 1 and ext.path == str(cached[0])
    imgs = heads(3, size=32)
    a = ext(imgs)
    assert a.shape == (3, 256)
    mtime = cached[0].stat().st_mtime_ns
    again = classifier_extractor(tiny_prep, cfg.eval, cfg.classifier, show_progress=False)
    assert cached[0].stat().st_mtime_ns == mtime  # not retrained
    np.testing.assert_allclose(again(imgs), a, rtol=1e-5, atol=1e-6)
    # the same file as a PATH extractor, and resizing: 64 px input to a 32 px model
    by_path = model_extractor(cached[0])
    np.testing.assert_allclose(by_path(imgs) * ext.scale, a, rtol=1e-5, atol=1e-6)  # the fixed rescaling
    import cv2

    raw_train = by_path(np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted((tiny_prep / "train").rglob("*.png"))]))
    assert np.mean((raw_train * ext.scale) ** 2) == pytest.approx(1.0, rel=1e-3)
    assert by_path(heads(2, size=64)).shape == (2, 256)


def test_cli_end_to_end_and_bad_input(tiny_prep, tmp_path):
    from cli.main import cli

    runner = CliRunner()
    out = tmp_path / "ev" / "eval.json"
    args = ["evaluate", "--real", str(tiny_prep / "train" / "glioma"), "--fake", str(tiny_prep / "test" / "glioma"),
            "--out", str(out), "-s", "eval.feature_epochs=1", "-s", "eval.kid_subsets=5", "-s", "eval.ms_ssim_pairs=20"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "PSNR" in res.output and "copy rate" in res.output
    r = json.loads(out.read_text())
    for key in ("psnr", "mse", "ssim", "fid", "kid", "precision", "recall", "density", "coverage",
                "ms_ssim_fake", "ms_ssim_real", "copy_rate", "counts", "size", "features", "seeds"):
        assert key in r, key
    assert set(r["psnr"]) == {"nearest", "random"} and set(r["kid"]) == {"mean", "std"}
    assert r["counts"]["fake"] == 8 and r["features"].startswith("classifier:")
    assert (tmp_path / "ev" / "eval_copies.png").is_file()
    lines = (tmp_path / "ev" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["fid"] == r["fid"]
    # bad input: one line, exit code 1, no traceback
    for bad in (["--real", str(tmp_path / "nope")], ["--fake", str(tmp_path / "empty")]):
        (tmp_path / "empty").mkdir(exist_ok=True)
        a = list(args)
        a[a.index(bad[0]) + 1] = bad[1]
        res = runner.invoke(cli, a)
        assert res.exit_code == 1 and "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output
    res = runner.invoke(cli, args[:-6] + ["--features", "nope"])
    assert res.exit_code == 1 and "unknown feature extractor" in res.output
    res = runner.invoke(cli, args + ["--dry-run"])
    assert res.exit_code == 0 and "feature_epochs: 1" in res.output


def test_mixed_sizes_are_resized_to_the_smallest_and_said():
    from mri_gan.metrics.evaluate import to_common_size

    arrays, size, notes = to_common_size({"real": list(heads(3, size=32)), "fake": list(heads(2, size=64))})
    assert size == 32 and arrays["fake"].shape == (2, 32, 32) and arrays["real"].shape == (3, 32, 32)
    assert notes and "resized to 32x32" in notes[0]
    same, _, none = to_common_size({"real": list(heads(2)), "fake": list(heads(2))})
    assert none == [] and same["fake"].shape == (2, 32, 32)


def test_unreadable_file_is_named(tmp_path):
    from mri_gan.errors import MriGanError
    from mri_gan.metrics.evaluate import read_dir

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(MriGanError, match="bad.png"):
        read_dir(tmp_path, "fake")
