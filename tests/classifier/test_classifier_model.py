"""Table II model: layer shapes, parameter count, variants, .keras round trip."""

import numpy as np
import pytest

from mri_gan.config import ClassifierConfig
from mri_gan.errors import MriGanError
from mri_gan.models.classifier import build_classifier, table2_shapes


def test_table2_shapes_and_params_at_64px():
    m = build_classifier(ClassifierConfig(), 64, 4)
    shape = {layer.name: tuple(layer.output.shape[1:]) for layer in m.layers}
    assert shape["conv1"] == (62, 62, 64)
    assert shape["pool1"] == (31, 31, 64)
    assert shape["conv2"] == (29, 29, 128)
    assert shape["pool2"] == (14, 14, 128)
    assert shape["flatten"] == (25088,)
    assert shape["features"] == (256,)
    assert shape["probabilities"] == (4,)
    # conv1 3*3*1*64+64, conv2 3*3*64*128+128, dense 25088*256+256, out 256*4+4
    expected = 640 + 73_856 + 6_422_784 + 1_028
    assert m.count_params() == expected
    assert table2_shapes(64)["flatten"] == 25088
    assert table2_shapes(512)["flatten"] == 126 * 126 * 128  # the ~520 M-parameter model


def test_gap_head_dropout_augment_variants():
    cfg = ClassifierConfig(head="gap", dropout=0.3, augment=True)
    m = build_classifier(cfg, 32, 3)
    names = [layer.name for layer in m.layers]
    assert "gap" in names and "flatten" not in names and "dropout1" in names and "aug_flip" in names
    assert m.count_params() == 640 + 73_856 + (128 * 256 + 256) + (256 * 3 + 3)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    # augmentation and dropout are off at inference: the output is that of the same weights in a
    # model without those layers (they hold no weights, so the weight lists line up)...
    plain = build_classifier(ClassifierConfig(head="gap"), 32, 3)
    assert [w.shape for w in plain.get_weights()] == [w.shape for w in m.get_weights()]
    plain.set_weights(m.get_weights())
    np.testing.assert_allclose(np.asarray(m(x, training=False)), np.asarray(plain(x, training=False)), rtol=1e-5, atol=1e-6)
    # ... and on in training: the same batch gives other outputs
    assert not np.allclose(np.asarray(m(x, training=True)), np.asarray(plain(x, training=False)), atol=1e-4)
    with pytest.raises(MriGanError):
        build_classifier(ClassifierConfig(head="nope"), 32, 3)


def test_mixed_precision_output_is_float32():
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        m = build_classifier(ClassifierConfig(), 32, 4)
        y = m(np.zeros((1, 32, 32, 1), "float32"))
        assert m.get_layer("conv1").compute_dtype == "bfloat16"
        assert y.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_keras_round_trip_and_features(tmp_path):
    import keras

    m = build_classifier(ClassifierConfig(dropout=0.2), 32, 4)
    x = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 1)).astype("float32")
    m.save(tmp_path / "m.keras")
    m2 = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(np.asarray(m(x)), np.asarray(m2(x)))
    assert [layer.name for layer in m2.layers] == [layer.name for layer in m.layers]
    assert m2.get_layer("dropout1").rate == 0.2 and m2.count_params() == m.count_params()
    assert m2.get_layer("features").units == 256  # the layer metrics.features cuts the model at
