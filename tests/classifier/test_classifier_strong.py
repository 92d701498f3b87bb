"""The strong preset: config resolution, what each option changes, one training step, .keras round trip."""

from pathlib import Path

import numpy as np
import pytest

from mri_gan.config import CLASSIFIER_PRESETS, ClassifierConfig, Config, load_config
from mri_gan.errors import MriGanError
from mri_gan.models.classifier import build_classifier, build_loss, build_optimizer, final_side

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _small_strong(**keys):
    """The strong recipe with few filters, for 32 px tests."""
    return ClassifierConfig.from_preset("strong", filters=[8, 16], **keys)


def test_preset_resolution_file_and_overrides(tmp_path):
    cfg = load_config(CONFIGS / "classifier-strong.yaml")
    c = cfg.classifier
    assert c.preset == "strong" and c.batchnorm and c.head == "gap" and c.optimizer == "adamw"
    assert c.weight_decay > 0 and c.lr_schedule == "cosine" and c.label_smoothing > 0 and c.augment_intensity
    assert Config().classifier.preset == "paper" and not Config().classifier.batchnorm  # Table II stays the default
    # keys beside the preset (in any order in the file) and -s overrides after it win over the preset
    f = tmp_path / "c.yaml"
    f.write_text("classifier:\n  dropout: 0.1\n  preset: strong\n")
    assert load_config(f).classifier.dropout == 0.1
    c2 = load_config(f, overrides=["classifier.batchnorm=false"]).classifier
    assert not c2.batchnorm and c2.head == "gap"
    # -s classifier.preset=paper resets every key the strong preset sets
    back = load_config(CONFIGS / "classifier-strong.yaml", overrides=["classifier.preset=paper"]).classifier
    assert all(getattr(back, k) == getattr(ClassifierConfig(), k) for k in CLASSIFIER_PRESETS["strong"])
    # a resolved config.yaml reloads as written
    cfg.classifier.dropout = 0.25
    cfg.save(tmp_path / "saved.yaml")
    assert load_config(tmp_path / "saved.yaml").classifier == cfg.classifier
    with pytest.raises(MriGanError, match="preset"):
        load_config(overrides=["classifier.preset=huge"])


def test_options_change_the_model():
    import keras

    m = build_classifier(_small_strong(), 32, 3)
    kinds = [type(layer).__name__ for layer in m.layers]
    names = [layer.name for layer in m.layers]
    assert kinds.count("BatchNormalization") == 4 and kinds.count("Conv2D") == 4  # 2 blocks x 2 convs
    assert "gap" in names and "flatten" not in names and "dropout1" in names
    assert {"aug_flip", "aug_rotate", "aug_zoom", "aug_shift", "aug_brightness", "aug_contrast"} <= set(names)
    assert m.get_layer("conv1_1").use_bias is False and m.get_layer("conv1_1").padding == "same"
    assert m.get_layer("pool2").output.shape[1:] == (8, 8, 16)  # same padding: 32 -> 16 -> 8
    plain = build_classifier(_small_strong(batchnorm=False, augment=False, augment_intensity=False), 32, 3)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    assert plain.get_layer("conv1_1").use_bias and not any(n.startswith("aug_") for n in [x.name for x in plain.layers])
    assert final_side(32, 2, 2, "valid") == 5 and final_side(16, 3, 2, "valid") == 0
    with pytest.raises(MriGanError, match="too small"):
        build_classifier(ClassifierConfig(filters=[8, 8, 8], convs_per_block=2), 16, 3)
    with pytest.raises(MriGanError, match="padding"):
        build_classifier(ClassifierConfig(padding="full"), 32, 3)


def test_options_change_the_optimizer_and_loss():
    import keras

    c = _small_strong(warmup_epochs=1.0, lr=2e-3)
    opt = build_optimizer(c, steps_per_epoch=10, epochs=5)
    assert isinstance(opt, keras.optimizers.AdamW) and opt.weight_decay == pytest.approx(c.weight_decay)
    sched = opt._learning_rate
    assert isinstance(sched, keras.optimizers.schedules.CosineDecay)
    lr = [float(sched(s)) for s in (0, 5, 10, 30, 50)]
    assert lr[0] == pytest.approx(0.0) and lr[1] == pytest.approx(1e-3)  # linear warm-up over 10 steps
    assert lr[2] == pytest.approx(2e-3) and lr[3] == pytest.approx(1e-3, rel=1e-4) and lr[4] == pytest.approx(0.0, abs=1e-9)
    paper = build_optimizer(ClassifierConfig(), 10, 5)
    assert type(paper) is keras.optimizers.Adam and paper.weight_decay is None
    assert float(paper.learning_rate) == pytest.approx(1e-3)
    with pytest.raises(MriGanError, match="weight_decay"):
        build_optimizer(ClassifierConfig(weight_decay=0.1), 10, 5)
    # label smoothing 0.1 over 3 classes: targets 0.9333 / 0.0333; p = (0.8, 0.1, 0.1) for class 0 costs -(0.9333 log 0.8 + 2 x 0.0333 log 0.1)
    loss = build_loss(c)
    p = np.array([[0.8, 0.1, 0.1]], "float32")
    want = -((1 - 0.1 + 0.1 / 3) * np.log(0.8) + 2 * (0.1 / 3) * np.log(0.1))
    assert float(loss(np.array([0]), p)) == pytest.approx(want, rel=1e-5)
    assert float(build_loss(ClassifierConfig())(np.array([0]), p)) == pytest.approx(-np.log(0.8), rel=1e-5)


def test_strong_trains_a_step_and_round_trips(tmp_path):
    import keras

    c = _small_strong(warmup_epochs=0.0)  # (a warm-up starts at learning rate 0: step 1 would not move)
    keras.utils.set_random_seed(0)
    m = build_classifier(c, 32, 3)
    opt = build_optimizer(c, steps_per_epoch=4, epochs=2)
    m.compile(optimizer=opt, loss=build_loss(c), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 32, 32, 1)).astype("float32")
    y = np.arange(8) % 3
    k0 = np.array(m.get_layer("conv1_1").kernel)
    bn0 = np.array(m.get_layer("conv1_1_bn").moving_mean)
    logs = m.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"]) and int(opt.iterations) == 1
    assert not np.allclose(k0, m.get_layer("conv1_1").kernel)
    assert not np.allclose(bn0, m.get_layer("conv1_1_bn").moving_mean)  # BatchNorm ran in training mode
    # augmentation and dropout off, BatchNorm on moving statistics at inference: two calls agree
    np.testing.assert_allclose(m(x, training=False), m(x, training=False))
    m.save(tmp_path / "s.keras")
    m2 = keras.saving.load_model(tmp_path / "s.keras", safe_mode=True, compile=False)
    # (training=False: Keras' random preprocessing layers default to training=True when called directly)
    np.testing.assert_allclose(np.asarray(m(x, training=False)), np.asarray(m2(x, training=False)), rtol=1e-6, atol=1e-6)
    assert [layer.name for layer in m2.layers] == [layer.name for layer in m.layers]
    # also with its compile settings (the label-smoothed loss is a registered Keras object)
    m3 = keras.saving.load_model(tmp_path / "s.keras", safe_mode=True)
    assert m3.loss.label_smoothing == pytest.approx(c.label_smoothing)


def test_classify_runs_the_strong_preset(tiny_prep, tmp_path):
    from mri_gan.classifier.train import run_classify

    cfg = load_config(CONFIGS / "classifier-strong.yaml",
                      overrides=["classifier.filters=[8,16]", "classifier.epochs=[2]", "classifier.seeds=1",
                                 "classifier.precision=float32", "classifier.class_weights=true"])
    res = run_classify(tiny_prep, tmp_path / "run", cfg, verbose=0)
    assert res["runs"][0]["epoch"] == 2 and res["best_val"]["runs"][0]["seed"] == 0
    assert 0.0 <= res["runs"][0]["accuracy"] <= 1.0 and np.isfinite(res["runs"][0]["loss"])
    saved = load_config(tmp_path / "run" / "config.yaml").classifier
    assert saved.preset == "strong" and saved.filters == [8, 16] and saved.batchnorm
