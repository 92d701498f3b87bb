"""`grouped_batch_moments`: one BatchNorm call on [a; b] computes what two calls, one per half, do."""

import numpy as np
import pytest


def _pair(seed=0, n=6, shape=(5, 5, 3)):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 1.0, (n,) + shape).astype(np.float32)
    b = rng.normal(-1.0, 3.0, (n,) + shape).astype(np.float32)  # other moments than a's
    return a, b


def _layer(shape):
    from mri_gan.models.layers import PenaltyBatchNorm

    bn = PenaltyBatchNorm(momentum=0.7)
    bn.build((None,) + shape)
    rng = np.random.default_rng(1)
    bn.gamma.assign(rng.normal(1.0, 0.3, shape[-1:]).astype(np.float32))
    bn.beta.assign(rng.normal(0.0, 0.3, shape[-1:]).astype(np.float32))
    return bn


@pytest.mark.parametrize("frozen", [False, True])
def test_one_grouped_call_equals_two_calls(frozen):
    import tensorflow as tf

    from mri_gan.models.layers import frozen_batch_moments, grouped_batch_moments

    a, b = _pair()
    two, one = _layer(a.shape[1:]), _layer(a.shape[1:])
    w = tf.constant(np.random.default_rng(2).normal(size=(12,) + a.shape[1:]).astype(np.float32))
    x = tf.constant(np.concatenate([a, b]))

    def scope():
        return frozen_batch_moments() if frozen else grouped_batch_moments(1)  # (1 group: a no-op)

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        with scope():
            y_two = tf.concat([two(x[:6], training=True), two(x[6:], training=True)], axis=0)
            with grouped_batch_moments(2):
                y_one = one(x, training=True)
        loss_two, loss_one = tf.reduce_sum(y_two * w), tf.reduce_sum(y_one * w)
    np.testing.assert_allclose(y_one, y_two, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tape.gradient(loss_one, x), tape.gradient(loss_two, x), rtol=1e-4, atol=1e-5)
    for v1, v2 in zip(tape.gradient(loss_one, [one.gamma, one.beta]), tape.gradient(loss_two, [two.gamma, two.beta])):
        np.testing.assert_allclose(v1, v2, rtol=1e-4, atol=1e-4)
    # the moving statistics: two updates in order, as the two calls make them
    np.testing.assert_allclose(one.moving_mean, two.moving_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(one.moving_variance, two.moving_variance, rtol=1e-5, atol=1e-6)
    # and the halves really were normalised apart: a plain joint call differs
    joint = _layer(a.shape[1:])(x, training=True)
    assert not np.allclose(joint, y_two, atol=1e-2)


def test_grouping_leaves_inference_and_plain_calls_alone():
    from mri_gan.models.layers import grouped_batch_moments

    a, b = _pair(3)
    x = np.concatenate([a, b])
    bn, ref = _layer(a.shape[1:]), _layer(a.shape[1:])
    with grouped_batch_moments(2):
        inf = bn(x, training=False)  # moving statistics, no batch moments: nothing to group
    np.testing.assert_allclose(inf, ref(x, training=False), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(bn(x, training=True), ref(x, training=True), rtol=1e-6, atol=1e-6)  # outside: one group
