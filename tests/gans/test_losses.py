"""Each GAN loss against values computed by hand with NumPy / closed forms."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mri_gan.gans import losses as L  # noqa: E402

REAL = np.array([[1.0], [-2.0], [0.0]], np.float32)
FAKE = np.array([[0.5], [3.0], [-1.0]], np.float32)


def _softplus(x):
    return np.log1p(np.exp(x))


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_bce_matches_log_sigmoid_formula():
    d = -np.mean(np.log(_sig(REAL))) - np.mean(np.log(1 - _sig(FAKE)))
    g = -np.mean(np.log(_sig(FAKE)))
    assert float(L.bce_discriminator_loss(REAL, FAKE)) == pytest.approx(d, rel=1e-6)
    assert float(L.bce_generator_loss(FAKE)) == pytest.approx(g, rel=1e-6)
    # zero logits: log 2 per term
    z = np.zeros((4, 1), np.float32)
    assert float(L.bce_discriminator_loss(z, z)) == pytest.approx(2 * np.log(2), rel=1e-6)


def test_bce_is_stable_for_large_logits():
    big = np.array([[80.0]], np.float32)
    assert float(L.bce_discriminator_loss(big, -big)) == pytest.approx(0.0, abs=1e-6)
    assert float(L.bce_generator_loss(-big)) == pytest.approx(80.0, rel=1e-6)


def test_least_squares_known_values():
    # 0.5*mean((r-1)^2) = 0.5*(0+9+1)/3 ; 0.5*mean(f^2) = 0.5*(0.25+9+1)/3
    assert float(L.least_squares_discriminator_loss(REAL, FAKE)) == pytest.approx(0.5 * 10 / 3 + 0.5 * 10.25 / 3, rel=1e-6)
    # 0.5*mean((f-1)^2) = 0.5*(0.25+4+4)/3
    assert float(L.least_squares_generator_loss(FAKE)) == pytest.approx(0.5 * 8.25 / 3, rel=1e-6)


def test_wasserstein_known_values():
    # mean(fake) - mean(real) = 2.5/3 - (-1/3)
    assert float(L.wasserstein_discriminator_loss(REAL, FAKE)) == pytest.approx(2.5 / 3 + 1 / 3, rel=1e-6)
    assert float(L.wasserstein_generator_loss(FAKE)) == pytest.approx(-2.5 / 3, rel=1e-6)


def test_hinge_known_values():
    # relu(1-r) = [0, 3, 1]; relu(1+f) = [1.5, 4, 0]
    assert float(L.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx(4 / 3 + 5.5 / 3, rel=1e-6)
    assert float(L.hinge_generator_loss(FAKE)) == pytest.approx(-2.5 / 3, rel=1e-6)


def test_losses_return_float32_scalars_from_bfloat16():
    import keras.ops as ops

    r = ops.cast(REAL, "bfloat16")
    f = ops.cast(FAKE, "bfloat16")
    for g_fn, d_fn in L.LOSSES.values():
        for v in (g_fn(f), d_fn(r, f)):
            assert str(v.dtype) == "float32" or getattr(v.dtype, "name", "") == "float32"
            assert tuple(v.shape) == ()


# hand-computed (generator loss on FAKE, discriminator loss on REAL, FAKE) of each loss name
_BCE_D = -np.mean(np.log(_sig(REAL))) - np.mean(np.log(1 - _sig(FAKE)))
EXPECTED = {
    "bce": (-np.mean(np.log(_sig(FAKE))), _BCE_D),
    "lsgan": (0.5 * 8.25 / 3, 0.5 * 10 / 3 + 0.5 * 10.25 / 3),
    "wgan_gp": (-2.5 / 3, 2.5 / 3 + 1 / 3),
    "hinge": (-2.5 / 3, 4 / 3 + 5.5 / 3),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registry_pairs_compute_their_loss(name):
    g_fn, d_fn = L.LOSSES[name]
    g, d = EXPECTED[name]
    assert float(g_fn(FAKE)) == pytest.approx(g, rel=1e-6)
    assert float(d_fn(REAL, FAKE)) == pytest.approx(d, rel=1e-6)


@pytest.mark.parametrize("kind,loss,expected", [
    ("proposed", "", "bce"), ("dcgan", "", "bce"), ("lsgan", "", "lsgan"), ("wgan_gp", "", "wgan_gp"),
    ("infogan", "", "bce"), ("proposed", "hinge", "hinge"),
])
def test_each_kind_trains_with_its_loss(kind, loss, expected):
    """The GAN built for a kind computes the expected loss on known logits (not only its name)."""
    from mri_gan.config import Config
    from mri_gan.gans.gan import GAN
    from mri_gan.gans.settings import GanSettings

    cfg = Config()
    cfg.gan.kind, cfg.gan.loss = kind, loss
    from mri_gan.gans.factory import resolve_kind

    _, name, _ = resolve_kind(cfg.gan)
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    gan = GAN(g, d, GanSettings(latent_dim=2))
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), loss=name)
    g_val, d_val = EXPECTED[expected]
    assert float(gan.g_loss_fn(FAKE)) == pytest.approx(g_val, rel=1e-6)
    assert float(gan.d_loss_fn(REAL, FAKE)) == pytest.approx(d_val, rel=1e-6)
    assert set(L.LOSSES) == set(EXPECTED)  # a new loss needs its hand-computed row here


def test_gradient_penalty_of_linear_critic():
    # D(x) = <w, x> + b has gradient w everywhere: GP = (||w|| - 1)^2 for any alpha.
    rng = np.random.default_rng(0)
    critic = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    w = rng.normal(size=(16, 1)).astype(np.float32)
    critic.layers[-1].set_weights([w, np.zeros(1, np.float32)])
    real = rng.random((5, 4, 4, 1), dtype=np.float32)
    fake = rng.random((5, 4, 4, 1), dtype=np.float32)
    alpha = rng.random((5, 1, 1, 1), dtype=np.float32)
    gp = float(L.wasserstein_gradient_penalty(lambda x: critic(x, training=True), real, fake, alpha))
    assert gp == pytest.approx((np.linalg.norm(w) - 1.0) ** 2, rel=1e-5)
    # a unit-norm linear critic satisfies the constraint exactly
    critic.layers[-1].set_weights([w / np.linalg.norm(w), np.zeros(1, np.float32)])
    assert float(L.wasserstein_gradient_penalty(critic, real, fake, alpha)) == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_is_differentiable_wrt_critic_weights():
    import tensorflow as tf

    critic = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    critic.layers[-1].set_weights([np.full((4, 1), 1.0, np.float32)])  # ||w|| = 2
    x = np.ones((2, 2, 2, 1), np.float32)
    with tf.GradientTape() as tape:
        gp = L.wasserstein_gradient_penalty(critic, x, -x, np.full((2, 1, 1, 1), 0.5, np.float32))
    (g,) = tape.gradient(gp, critic.trainable_variables)
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 1 * w / 2 = w
    np.testing.assert_allclose(g.numpy(), np.full((4, 1), 1.0), rtol=1e-5)


def test_gradient_penalty_uses_first_output_of_multi_head_critic():
    inp = keras.Input((2, 2, 1))
    flat = keras.layers.Flatten()(inp)
    logit = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(flat)  # ||w|| = 2
    q = keras.layers.Dense(3, kernel_initializer="ones")(flat)
    model = keras.Model(inp, [logit, q])
    x = np.zeros((2, 2, 2, 1), np.float32)
    assert float(L.wasserstein_gradient_penalty(model, x, x, np.zeros((2, 1, 1, 1), np.float32))) == pytest.approx(1.0, rel=1e-5)


def test_mutual_information_penalty_known_value():
    onehot = np.eye(3, dtype=np.float32)
    # uniform Q logits: CE = log 3 for every sample
    cat_logits = np.zeros((3, 3), np.float32)
    codes = np.zeros((3, 2), np.float32)
    pred = np.ones((3, 2), np.float32)  # 0.5 * (1 + 1) = 1 per sample
    v = float(L.mutual_information_penalty(onehot, cat_logits, codes, pred))
    assert v == pytest.approx(np.log(3) + 1.0, rel=1e-6)
    # a confident, correct Q and exact codes drive it to ~0
    assert float(L.mutual_information_penalty(onehot, 50 * onehot, codes, codes)) == pytest.approx(0.0, abs=1e-6)


def test_mutual_information_penalty_parts_optional():
    onehot = np.eye(2, dtype=np.float32)
    logits = np.array([[2.0, 0.0], [0.0, 1.0]], np.float32)
    ce = np.mean([-np.log(_sig(2.0)), -np.log(_sig(1.0))])  # 2-way softmax == sigmoid of the difference
    assert float(L.mutual_information_penalty(onehot, logits)) == pytest.approx(ce, rel=1e-6)
    c = np.array([[0.5, -0.5]], np.float32)
    assert float(L.mutual_information_penalty(None, None, c, np.zeros_like(c))) == pytest.approx(0.25, rel=1e-6)
    assert float(L.mutual_information_penalty(np.zeros((2, 0), np.float32), np.zeros((2, 0), np.float32), c, c)) == 0.0


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    import tensorflow as tf

    w = tf.constant(np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3) / 10)
    critic = lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]  # noqa: E731  grad_x = w for every image
    real = np.random.default_rng(0).standard_normal((5, 2, 2, 3)).astype(np.float32)
    assert float(L.r1_penalty(critic, real)) == pytest.approx(float(np.sum(np.square(w))), rel=1e-5)
    quad = lambda x: tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]  # noqa: E731  grad = 2x
    expect = np.mean(np.sum(np.square(2 * real), axis=(1, 2, 3)))
    assert float(L.r1_penalty(quad, real)) == pytest.approx(expect, rel=1e-5)
