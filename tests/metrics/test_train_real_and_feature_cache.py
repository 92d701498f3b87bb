"""`evaluate --train-real` audits copies against a separate training folder; the cached
feature classifier is retrained when a training image changes."""

from __future__ import annotations

import json
import os
import shutil

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

TINY_EVAL = ["-s", "eval.feature_epochs=1", "-s", "eval.kid_subsets=5", "-s", "eval.kid_subset_size=4",
             "-s", "eval.ms_ssim_pairs=10", "-s", "eval.pr_k=2", "-s", "classifier.batch_size=32"]


def test_evaluate_train_real_folder(tiny_prep, tmp_path):
    """Fakes that are byte copies of TRAINING images: against the test reals they are no copies,
    against --train-real (the training folder) every one is, and the closest-fake rows name the
    training files they copy."""
    from cli.main import cli

    fake = tmp_path / "fake"
    fake.mkdir()
    train = sorted((tiny_prep / "train" / "glioma").glob("*.png"))
    for p in train[:6]:
        shutil.copyfile(p, fake / f"copy_of_{p.name}")
    results = {}
    for name, extra in (("plain", []), ("train", ["--train-real", str(tiny_prep / "train" / "glioma")])):
        out = tmp_path / f"{name}.json"
        r = CliRunner().invoke(cli, ["evaluate", "--real", str(tiny_prep / "test" / "glioma"), "--fake", str(fake),
                                     "--out", str(out), "--features", "classifier", "--prep", str(tiny_prep),
                                     *extra, *TINY_EVAL])
        assert r.exit_code == 0, r.output
        results[name] = json.loads(out.read_text())
    plain, with_train = results["plain"], results["train"]
    assert plain["counts"] == {"real": 8, "fake": 6, "train_real": 8}
    assert with_train["counts"] == {"real": 8, "fake": 6, "train_real": 24}
    assert with_train["inputs"]["train_real"] == str(tiny_prep / "train" / "glioma")
    assert plain["copy_rate"] == 0.0 and with_train["copy_rate"] == 1.0
    # the pixel metrics still compare with --real (the test images): the same in both runs
    assert with_train["ssim"] == plain["ssim"] and with_train["ssim"]["nearest"]["mean"] < 0.99
    for row in with_train["memorization"]["closest_fakes"]:
        assert row["fake_file"] == f"copy_of_{row['train_file']}" and row["ssim"] == pytest.approx(1.0, abs=1e-6)


def _rewrite_same_size(path, seed):
    """Overwrite a PNG with other pixels and the same byte size (uncompressed PNG) and a new mtime."""
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    img = np.random.default_rng(seed).integers(0, 256, img.shape, dtype=np.uint8)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 0])
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))


def test_feature_cache_is_retrained_when_a_training_image_changes(tiny_prep):
    from mri_gan.config import load_config
    from mri_gan.metrics.features import classifier_extractor

    cfg = load_config(overrides=["eval.feature_epochs=1", "classifier.batch_size=32"])
    target = sorted((tiny_prep / "train" / "glioma").glob("*.png"))[0]
    _rewrite_same_size(target, 1)  # uncompressed: its size no longer depends on the pixels
    size = target.stat().st_size
    first = classifier_extractor(tiny_prep, cfg.eval, cfg.classifier, show_progress=False)
    trained_at = os.stat(first.path).st_mtime_ns
    _rewrite_same_size(target, 2)
    assert target.stat().st_size == size
    again = classifier_extractor(tiny_prep, cfg.eval, cfg.classifier, show_progress=False)
    retrained = again.path != first.path or os.stat(again.path).st_mtime_ns != trained_at
    assert retrained, "the cached model was trained on images that have changed since"


def test_feature_model_ignores_the_classifier_preset(tiny_prep):
    """The features are the paper's network whatever classifier preset the config carries: the
    strong preset (BatchNorm, GAP, augmentation) must reuse the same cached model, not build its own."""
    from mri_gan.config import load_config
    from mri_gan.metrics.features import classifier_extractor

    paper = load_config(overrides=["eval.feature_epochs=1"])
    strong = load_config(overrides=["eval.feature_epochs=1", "classifier.preset=strong"])
    b = classifier_extractor(tiny_prep, strong.eval, strong.classifier, show_progress=False)  # first: it fills the cache
    a = classifier_extractor(tiny_prep, paper.eval, paper.classifier, show_progress=False)
    assert a.path == b.path
    import keras

    names = [layer.__class__.__name__ for layer in keras.models.load_model(b.path, compile=False).layers]
    assert "BatchNormalization" not in names and "RandomFlip" not in names
