"""DCGAN and InfoGAN-discriminator builders: shapes, architecture rules, .keras round trip."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mri_gan.config import GanConfig  # noqa: E402
from mri_gan.errors import MriGanError  # noqa: E402
from mri_gan.models.dcgan import build_dcgan_discriminator, build_dcgan_generator  # noqa: E402
from mri_gan.models.infogan import build_info_discriminator  # noqa: E402

TINY = GanConfig(latent_dim=8, g_width=16, g_min_width=4, d_width=4, d_max_width=16, spectral_norm=True)


def _all_layers(model):
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layer"):  # wrappers
            out.append(layer.layer)
    return out


@pytest.mark.parametrize("size", [16, 32, 64])
def test_dcgan_shapes_and_range(size):
    g = build_dcgan_generator(TINY, size)
    d = build_dcgan_discriminator(TINY, size)
    z = np.random.default_rng(0).normal(size=(3, TINY.latent_dim)).astype(np.float32)
    img = g(z, training=False)
    assert img.shape == (3, size, size, 1)
    assert np.abs(np.asarray(img)).max() <= 1.0
    assert d(img, training=False).shape == (3, 1)
    assert g.name == "dcgan_generator" and d.name == "dcgan_discriminator"


@pytest.mark.parametrize("size", [128, 256, 512])
def test_dcgan_builds_at_large_sizes(size):
    g = build_dcgan_generator(TINY, size, name="g")
    d = build_dcgan_discriminator(TINY, size, name="d")
    assert g.output_shape == (None, size, size, 1)
    assert d.output_shape == (None, 1)


def test_dcgan_is_all_convolutional():
    g = build_dcgan_generator(TINY, 32)
    d = build_dcgan_discriminator(TINY, 32)
    for m in (g, d):
        kinds = {type(layer).__name__ for layer in _all_layers(m)}
        assert "Dense" not in kinds and "SpectralNormalization" not in kinds
        assert not kinds & {"MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D"}
    # G: 1x1 -> 4x4 projection by a transposed conv; 32 px = 3 stride-2 stages
    assert g.get_layer("project").output.shape[1:3] == (4, 4)
    ups = [layer for layer in g.layers if type(layer).__name__ == "Conv2DTranspose"]
    assert [layer.strides for layer in ups] == [(1, 1), (2, 2), (2, 2), (2, 2)]
    # D: BatchNorm on every conv but the first; ends in a conv to a 1x1 map
    convs = [layer for layer in d.layers if type(layer).__name__ == "Conv2D"]
    bns = [layer for layer in d.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == len(convs) - 2
    assert convs[-1].output.shape[1:] == (1, 1, 1)
    assert all(abs(layer.negative_slope - 0.2) < 1e-9 for layer in d.layers if type(layer).__name__ == "LeakyReLU")


def test_dcgan_uses_config_widths():
    cfg = dataclasses.replace(TINY, g_width=32, d_width=8)
    g = build_dcgan_generator(cfg, 32)
    d = build_dcgan_discriminator(cfg, 32)
    assert g.get_layer("project").filters == 32
    assert d.get_layer("down1_conv").filters == 8


def test_dcgan_bad_size_is_one_line_error():
    with pytest.raises(MriGanError):
        build_dcgan_generator(TINY, 48)
    with pytest.raises(MriGanError):
        build_dcgan_discriminator(TINY, 4)


def test_dcgan_keras_round_trip(tmp_path):
    z = np.random.default_rng(1).normal(size=(2, TINY.latent_dim)).astype(np.float32)
    for m, x in ((build_dcgan_generator(TINY, 16), z), (build_dcgan_discriminator(TINY, 16), None)):
        if x is None:
            x = np.random.default_rng(2).uniform(-1, 1, (2, 16, 16, 1)).astype(np.float32)
        path = tmp_path / f"{m.name}.keras"
        m.save(path)
        m2 = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_array_equal(np.asarray(m(x, training=False)), np.asarray(m2(x, training=False)))
        assert m2.get_config()["name"] == m.name


def test_info_discriminator_outputs_and_shared_trunk():
    cfg = dataclasses.replace(TINY, info_categorical=5, info_continuous=2)
    d = build_info_discriminator(cfg, 32)
    x = np.zeros((3, 32, 32, 1), np.float32)
    logit, cat, cont = d(x, training=True)
    assert logit.shape == (3, 1) and cat.shape == (3, 5) and cont.shape == (3, 2)
    kinds = [type(layer).__name__ for layer in d.layers]
    assert kinds.count("SpectralNormalization") == 4  # 3 convs + the logit dense; Q is not normalised
    # one trunk: both heads hang off the same flatten layer
    flat = d.get_layer("flatten")
    assert len(flat._inbound_nodes) == 1
    q_hidden = d.get_layer("q_hidden")
    assert q_hidden.input is flat.output


def test_info_discriminator_gradients_reach_trunk_from_q():
    import tensorflow as tf

    cfg = dataclasses.replace(TINY, info_categorical=3, info_continuous=1)
    d = build_info_discriminator(cfg, 16)
    x = tf.random.normal((2, 16, 16, 1))
    with tf.GradientTape() as tape:
        _, cat, cont = d(x, training=True)
        loss = tf.reduce_sum(cat) + tf.reduce_sum(cont)
    trunk_kernel = d.get_layer("down1").layer.kernel
    g = tape.gradient(loss, trunk_kernel)
    assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0


def test_info_discriminator_empty_code_and_round_trip(tmp_path):
    cfg = dataclasses.replace(TINY, info_categorical=4, info_continuous=0, spectral_norm=False)
    d = build_info_discriminator(cfg, 16)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 1)).astype(np.float32)
    outs = d(x)
    assert outs[2].shape == (2, 0)
    d.save(tmp_path / "d.keras")
    d2 = keras.saving.load_model(tmp_path / "d.keras", safe_mode=True)
    for a, b in zip(outs, d2(x)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(MriGanError, match="at least one"):
        build_info_discriminator(dataclasses.replace(TINY, info_categorical=0, info_continuous=0), 16)


@pytest.mark.parametrize("size", [16, 128, 512])
def test_info_discriminator_sizes(size):
    d = build_info_discriminator(TINY, size)
    assert [tuple(o.shape) for o in d.outputs] == [(None, 1), (None, TINY.info_categorical), (None, TINY.info_continuous)]
