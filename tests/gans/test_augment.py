"""DiffAugment / ADA: shapes, ranges, determinism, gradients, and the ADA p controller."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from mri_gan.errors import MriGanError  # noqa: E402
from mri_gan.gans.augment import ada_augment, ada_update, diff_augment  # noqa: E402

SEED = tf.constant([7, 1], tf.int64)


def _batch(b=6, s=16, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (b, s, s, 1)).astype(np.float32))


@pytest.mark.parametrize("policy", ["", "color", "translation", "cutout", "translation,cutout,color"])
def test_diff_augment_shape_and_determinism(policy):
    x = _batch()
    a = diff_augment(x, policy, SEED)
    assert a.shape == x.shape and a.dtype == tf.float32
    np.testing.assert_array_equal(a.numpy(), diff_augment(x, policy, SEED).numpy())
    if policy:
        assert not np.array_equal(a.numpy(), diff_augment(x, policy, tf.constant([8, 1], tf.int64)).numpy())
    else:
        np.testing.assert_array_equal(a.numpy(), x.numpy())


def test_geometric_ops_stay_in_range_and_fill_black():
    x = tf.ones((8, 16, 16, 1))  # an all-white image: anything else must be the black fill
    for policy in ("translation", "cutout"):
        a = diff_augment(x, policy, SEED).numpy()
        assert a.min() >= -1.0 and a.max() <= 1.0
        assert set(np.unique(a)) <= {-1.0, 1.0}
    # cutout removes a square of at most (16/2)^2 = 64 px, and at least one pixel
    black = (diff_augment(x, "cutout", SEED).numpy() == -1).reshape(8, -1).sum(1)
    assert black.max() <= 64 and black.min() >= 1
    # translation by at most 16/8 = 2 px: the centre 12x12 block always stays white
    t = diff_augment(x, "translation", SEED).numpy()
    assert (t[:, 2:-2, 2:-2] == 1).all()


def test_translation_is_an_exact_shift():
    # a single bright pixel moves to exactly one place, by at most 2 px
    x = np.full((16, 16, 16, 1), -1.0, np.float32)
    x[:, 8, 8, 0] = 1.0
    t = diff_augment(tf.constant(x), "translation", SEED).numpy()
    for img in t:
        ys, xs = np.nonzero(img[..., 0] == 1.0)
        assert len(ys) == 1 and abs(ys[0] - 8) <= 2 and abs(xs[0] - 8) <= 2


def test_color_is_brightness_then_contrast_around_the_mean():
    """Each image comes out as c * (x - mean) + mean + b: brightness b ~ U(-0.5, 0.5) shifts the
    mean, contrast c ~ U(0.5, 1.5) scales the deviations. Fit (c, b) per image and check the fit
    is exact and both draws cover their ranges (an op that is off gives c = 1 or b = 0)."""
    x = _batch(32).numpy()
    a = diff_augment(tf.constant(x), "color", SEED).numpy()
    m = x.mean(axis=(1, 2, 3))
    dev = (x - m[:, None, None, None]).reshape(32, -1)
    c = ((a.reshape(32, -1) - a.reshape(32, -1).mean(1, keepdims=True)) * dev).sum(1) / (dev * dev).sum(1)
    b = a.mean(axis=(1, 2, 3)) - m
    rebuilt = c[:, None, None, None] * (x - m[:, None, None, None]) + (m + b)[:, None, None, None]
    np.testing.assert_allclose(a, rebuilt, atol=1e-5)
    assert np.all((c >= 0.5 - 1e-5) & (c <= 1.5 + 1e-5)) and c.min() < 0.75 and c.max() > 1.25, c
    assert np.all(np.abs(b) <= 0.5 + 1e-6) and b.min() < -0.25 and b.max() > 0.25, b
    assert np.std(c) > 0.15 and abs(np.corrcoef(b, c)[0, 1]) < 0.6  # independent draws per image


def test_diff_augment_passes_gradients():
    x = tf.Variable(_batch())
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(diff_augment(x, "translation,cutout,color", SEED))
    g = tape.gradient(y, x)
    assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0


def test_diff_augment_inside_tf_function():
    f = tf.function(lambda x, s: diff_augment(x, "translation,cutout,color", s))
    x = _batch()
    np.testing.assert_allclose(f(x, SEED).numpy(), diff_augment(x, "translation,cutout,color", SEED).numpy(), atol=1e-6)


def test_unknown_policy_is_one_line_error():
    with pytest.raises(MriGanError, match="saturation"):
        diff_augment(_batch(), "translation,saturation", SEED)


def test_ada_p0_is_identity_and_p1_changes_every_image():
    x = _batch(16)
    np.testing.assert_array_equal(ada_augment(x, 0.0, SEED).numpy(), x.numpy())
    a = ada_augment(x, 1.0, SEED).numpy()
    assert a.shape == x.shape
    assert all(not np.array_equal(a[i], x.numpy()[i]) for i in range(16))
    np.testing.assert_array_equal(a, ada_augment(x, tf.Variable(1.0), SEED).numpy())


def test_ada_probability_is_per_image():
    x = _batch(400, 8)
    a = ada_augment(x, 0.3, SEED).numpy()
    untouched = np.mean([np.array_equal(a[i], x.numpy()[i]) for i in range(400)])
    # untouched only if none of the 5 transforms fired: (1 - 0.3)^5 = 0.168
    assert 0.10 < untouched < 0.24


def test_ada_passes_the_exact_gradient():
    """With its seed fixed, ada_augment is affine in x (flip, shift, brightness, contrast around
    the mean, cutout), so <w, f(x + v) - f(x)> = <grad_x <w, f(x)>, v> for any v: the gradient
    that reaches G is the true one, not zero, cut, or partial."""
    rng = np.random.default_rng(3)
    x0 = _batch(8)
    w = tf.constant(rng.normal(size=x0.shape).astype(np.float32))
    v = tf.constant(rng.normal(size=x0.shape).astype(np.float32))
    x = tf.Variable(x0)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(w * ada_augment(x, 0.7, SEED))
    g = tape.gradient(y, x)
    assert g is not None
    lhs = float(tf.reduce_sum(w * (ada_augment(x0 + v, 0.7, SEED) - ada_augment(x0, 0.7, SEED))))
    rhs = float(tf.reduce_sum(g * v))
    assert abs(rhs) > 1.0 and lhs == pytest.approx(rhs, rel=1e-4, abs=1e-3)
    # p = 0: identity, gradient exactly w
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(w * ada_augment(x, 0.0, SEED))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), w.numpy())


def test_ada_update_direction_and_clip():
    step = 64 * 4 / 1000  # 0.256
    assert float(ada_update(0.5, 0.9, 0.6, 64, 4, 1000)) == pytest.approx(0.5 + step)  # D overfits: more aug
    assert float(ada_update(0.5, 0.1, 0.6, 64, 4, 1000)) == pytest.approx(0.5 - step)  # less aug
    assert float(ada_update(0.5, 0.6, 0.6, 64, 4, 1000)) == pytest.approx(0.5)  # sign(0) = 0
    assert float(ada_update(0.9, 1.0, 0.6, 64, 4, 1000)) == 1.0
    assert float(ada_update(0.1, -1.0, 0.6, 64, 4, 1000)) == 0.0
    assert ada_update(tf.Variable(0.2), tf.constant(0.7), 0.6, 64, 4, 1000).dtype == tf.float32


@pytest.mark.parametrize("policy", ["translation", "cutout", "color", "translation,cutout,color"])
def test_diff_augment_per_group_draws_once_per_group(policy):
    x = tf.repeat(tf.random.stateless_uniform((1, 16, 16, 1), [1, 2], -1, 1), 8, axis=0)  # 8 copies of one image
    per_image = diff_augment(x, policy, tf.constant([3, 4]), group=1).numpy()
    per_group = diff_augment(x, policy, tf.constant([3, 4]), group=4).numpy()
    assert any(not np.array_equal(per_image[0], per_image[i]) for i in range(1, 8))  # copies made to differ
    for g in (0, 4):
        for i in range(g + 1, g + 4):
            np.testing.assert_array_equal(per_group[g], per_group[i])  # one draw per group of 4
    assert not np.array_equal(per_group[0], per_group[4])


def test_ada_per_group_gives_each_pack_one_draw():
    """group=2: the two images of a pack get the same flip, shift, brightness, contrast and cutout
    (copies stay copies, so D can still see a collapsed G), while packs differ from each other;
    group=1 draws per image (the copies come apart)."""
    x = np.random.default_rng(5).uniform(-1, 1, (32, 16, 16, 1)).astype(np.float32)
    x[1::2] = x[0::2]  # every pack = two copies of one image
    a = ada_augment(tf.constant(x), 0.5, SEED, group=2).numpy()
    np.testing.assert_array_equal(a[0::2], a[1::2])
    assert not np.array_equal(a, x)  # something fired
    per_image = ada_augment(tf.constant(x), 0.5, SEED).numpy()
    assert sum(not np.array_equal(per_image[i], per_image[i + 1]) for i in range(0, 32, 2)) >= 8
    # p = 0 is still the identity with groups
    np.testing.assert_array_equal(ada_augment(tf.constant(x), 0.0, SEED, group=2).numpy(), x)
