"""The phase (space-to-depth) forms of the GAN's stride-2 convolutions compute what the Keras
layers compute, values and gradients, and `install` changes nothing outside `phase_convs()`."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import keras

from mri_gan.models import phase_conv as pc


def _rand(*shape, seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype("float32"))


def _assert_same_gradients(ops, x, k, out_shape, seed):
    """Both ops' gradients w.r.t. input and kernel under one random cotangent (the adjoints)."""
    probe = _rand(*out_shape, seed=seed)
    grads = []
    for f in ops:
        with tf.GradientTape() as tape:
            tape.watch([x, k])
            loss = tf.reduce_sum(f(x, k) * probe)
        grads.append(tape.gradient(loss, [x, k]))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=5e-5)


@pytest.mark.parametrize("h,w,i,o", [(8, 8, 1, 4), (16, 12, 3, 5), (4, 4, 6, 2)])
def test_conv_s2_equals_stride2_same_conv_and_its_gradients(h, w, i, o):
    x, k = _rand(3, h, w, i), _rand(4, 4, i, o, seed=1)
    ref = tf.nn.conv2d(x, k, 2, "SAME")
    np.testing.assert_allclose(pc.conv_s2(x, k).numpy(), ref.numpy(), atol=2e-5)
    _assert_same_gradients((lambda x, k: tf.nn.conv2d(x, k, 2, "SAME"), pc.conv_s2), x, k, ref.shape, 2)


@pytest.mark.parametrize("h,w,i,o", [(4, 4, 6, 5), (8, 6, 3, 1), (16, 16, 2, 8)])
def test_conv_transpose_s2_equals_keras_conv_transpose_and_its_gradients(h, w, i, o):
    x, k = _rand(2, h, w, i), _rand(4, 4, o, i, seed=3)  # Conv2DTranspose kernel layout (k, k, out, in)
    ref = keras.ops.conv_transpose(x, k, strides=2, padding="same")
    assert tuple(ref.shape) == (2, 2 * h, 2 * w, o)
    np.testing.assert_allclose(pc.conv_transpose_s2(x, k).numpy(), np.asarray(ref), atol=2e-5)
    _assert_same_gradients((lambda x, k: keras.ops.conv_transpose(x, k, strides=2, padding="same"),
                            pc.conv_transpose_s2), x, k, ref.shape, 4)


def test_space_to_depth_matches_tensorflow():
    x = _rand(2, 6, 4, 3)
    np.testing.assert_array_equal(pc.space_to_depth(x).numpy(), tf.nn.space_to_depth(x, 2).numpy())
    np.testing.assert_array_equal(pc.depth_to_space(pc.space_to_depth(x)).numpy(), x.numpy())


def _net():
    from keras import layers

    x_in = keras.Input((32, 32, 8))
    h = layers.Conv2DTranspose(8, 4, strides=2, padding="same", name="up")(x_in)  # 32 -> 64, eligible
    h = layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="to_one")(h)  # 1 filter: kept
    h = layers.SpectralNormalization(layers.Conv2D(4, 4, strides=2, padding="same", name="down"), name="sn")(h)
    h = layers.Conv2D(4, 3, strides=2, padding="same", name="k3")(h)  # kernel 3: not eligible
    return keras.Model(x_in, h)


def test_install_patches_the_eligible_layers_only_and_leaves_saved_config_plain():
    model = _net()
    config = model.get_config()
    assert pc.install(model) == 3  # the two transposed convs and the wrapped "down"; not "k3"
    assert model.get_config() == config  # the same Keras classes and settings in .keras files
    patched = {layer.name for layer in model._flatten_layers(include_self=False)
               if "call" in vars(layer) or "convolution_op" in vars(layer)}
    assert patched == {"up", "to_one", "down"}
    assert pc.install(model) == 3  # idempotent


def test_installed_model_gives_the_same_outputs_and_gradients_with_phase_forms_on(monkeypatch):
    model = _net()
    x = _rand(2, 32, 32, 8, seed=5)
    calls = []
    real = pc.conv_transpose_s2
    monkeypatch.setattr(pc, "conv_transpose_s2", lambda *a: calls.append(1) or real(*a))
    pc.install(model)

    def run(active):
        with pc.phase_convs(active), tf.GradientTape() as tape:
            y = model(x, training=False)
            loss = tf.reduce_sum(y * y)
        return y.numpy(), [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]

    y0, g0 = run(False)
    assert calls == []  # outside phase_convs() the layers' own ops run
    y1, g1 = run(True)
    assert len(calls) == 1  # "up" only: "to_one" has one filter (MIN_TRANSPOSE_FILTERS)
    np.testing.assert_allclose(y1, y0, rtol=1e-4, atol=1e-4)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
