"""Lazy R1 (`gan.r1_every`): N x the penalty on every Nth D update, none between."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from mri_gan.config import Config


def _small(cfg):
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 16, 8, 8, 16, 8
    return cfg


def _d_after_one_update(r1_gamma, r1_every, iteration, graph):
    """D's weights after one `_d_step` from the same start (same seed, same reals, same draws)."""
    from mri_gan.gans.factory import build_gan

    cfg = _small(Config())
    cfg.gan.r1_gamma, cfg.gan.r1_every = r1_gamma, r1_every
    gan = build_gan(cfg, 16)
    gan.d_optimizer.iterations.assign(iteration)
    real = tf.random.stateless_uniform((8, 16, 16, 1), [3, 4], -1.0, 1.0)
    step = tf.function(gan._d_step) if graph else gan._d_step
    out = step(real, None, 8, 1)
    return [w.numpy() for w in gan.discriminator.trainable_weights], float(0.0 if out[-1] is None else out[-1])


@pytest.mark.parametrize("graph", [False, True])
def test_lazy_r1_is_n_times_the_penalty_on_due_updates_and_none_between(graph):
    eager_2x, r1_2x = _d_after_one_update(0.2, 1, 4, graph)
    lazy_due, r1_due = _d_after_one_update(0.1, 2, 4, graph)  # iteration 4: due, weight 2 x 0.1
    for a, b in zip(eager_2x, lazy_due):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert r1_due == pytest.approx(2 * r1_2x, rel=1e-5)  # what the tracker gets: N x R1
    plain, _ = _d_after_one_update(0.0, 1, 5, graph)
    lazy_off, r1_off = _d_after_one_update(0.1, 2, 5, graph)  # iteration 5: not due
    for a, b in zip(plain, lazy_off):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert r1_off == 0.0


def test_bad_r1_every_is_a_one_line_error():
    from mri_gan.errors import MriGanError
    from mri_gan.gans.factory import build_gan

    cfg = _small(Config())
    cfg.gan.r1_every = 0
    with pytest.raises(MriGanError, match="gan.r1_every must be >= 1"):
        build_gan(cfg, 16)
