"""`classifier.class_weights` and `classifier.augment` change training as they say."""

from __future__ import annotations

import numpy as np
import pytest

from mri_gan.config import ClassifierConfig, load_config


def _imbalanced(tiny_prep_factory):
    """Two classes, 24 vs 4 training images that look alike (the minority's are glioma images):
    nothing tells them apart, so the CNN learns the class prior, which class weights even out."""
    import shutil

    prep = tiny_prep_factory(size=32, n_train=24, n_test=4, classes=["glioma", "pituitary"])
    keep = sorted((prep / "train" / "pituitary").glob("*.png"))
    for p in keep[4:]:
        p.unlink()
    for src, dst in zip(sorted((prep / "train" / "glioma").glob("*.png"))[-4:], keep[:4]):
        shutil.copyfile(src, dst)
    return prep


def test_class_weights_are_inverse_frequency_and_favour_the_minority(tiny_prep_factory, tmp_path, monkeypatch):
    import keras

    from mri_gan.classifier.train import run_classify

    prep = _imbalanced(tiny_prep_factory)
    seen = []
    fit = keras.Model.fit

    def recording_fit(self, *args, **kwargs):
        seen.append(kwargs.get("class_weight"))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    minority = {}
    for weighted in (False, True):
        cfg = load_config(None, ["classifier.epochs=[3]", "classifier.seeds=1", "classifier.batch_size=8",
                                 f"classifier.class_weights={str(weighted).lower()}", "classifier.lr=0.0005"])
        out = tmp_path / f"w{int(weighted)}"
        run_classify(prep, out, cfg, verbose=0)
        model = keras.models.load_model(out / "best.keras", compile=False)
        import cv2

        imgs = np.stack([cv2.imread(str(p), 0) for p in sorted((prep / "train").rglob("*.png"))])
        x = imgs[..., None].astype(np.float32) / 127.5 - 1.0
        minority[weighted] = float(np.mean(np.asarray(model(x, training=False))[:, 1]))
    # w_c = N / (k n_c) over the training part (after the validation hold-out): with k = 2,
    # 1/w_0 + 1/w_1 = (n_0 + n_1) * 2 / N = 2, and w_1 / w_0 = n_0 / n_1 (about 24 / 4)
    assert seen[0] is None
    w = seen[-1]
    assert sorted(w) == [0, 1] and 1 / w[0] + 1 / w[1] == pytest.approx(2.0, rel=1e-9)
    assert 20 / 4 <= w[1] / w[0] <= 24 / 3, w
    # the same seed, data and steps: only the weights differ, and they raise the minority's probability
    assert minority[True] > minority[False] + 0.1, minority


def test_augment_moves_training_inputs_only():
    """augment=True: in training the CNN sees flipped / rotated / zoomed / shifted copies (black
    fill, range kept), at inference the image itself."""
    import keras

    from mri_gan.models.classifier import build_classifier

    m = build_classifier(ClassifierConfig(augment=True), 32, 4)
    aug = keras.Model(m.inputs, m.get_layer("aug_shift").output)
    x = -np.ones((16, 32, 32, 1), np.float32)
    x[:, 8:24, 4:12] = 1.0  # a bar on the left: a flip moves it to the right
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    y = np.asarray(aug(x, training=True))
    assert y.min() >= -1.0 - 1e-5 and y.max() <= 1.0 + 1e-5
    assert all(not np.allclose(y[i], x[i], atol=1e-3) for i in range(16))
    left, right = (y[:, :, :16] > 0).sum(axis=(1, 2, 3)), (y[:, :, 16:] > 0).sum(axis=(1, 2, 3))
    assert (left > right).any() and (right > left).any()  # some flipped, some not
    plain = build_classifier(ClassifierConfig(), 32, 4)
    assert not any(layer.name.startswith("aug_") for layer in plain.layers)
