"""Lazy R1 (`gan.r1_every`) and the learning-rate decay over the run (`train.lr_decay`)."""

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


@pytest.mark.parametrize("shape,mid", [("linear", 0.5), ("cosine", 0.5)])
def test_hold_then_decay_known_values(shape, mid):
    from mri_gan.gans.lr_schedule import HoldThenDecay

    s = HoldThenDecay(1e-3, total_steps=100, start=0.5, shape=shape)
    at = {k: float(s(k)) for k in (0, 49, 50, 75, 100, 150)}
    assert at[0] == at[49] == at[50] == pytest.approx(1e-3)  # held for the first half
    assert at[75] == pytest.approx(mid * 1e-3)  # halfway through the decay: both shapes at 1/2
    assert at[100] == at[150] == 0.0
    lin = HoldThenDecay(1.0, total_steps=10, start=0.0, shape="linear")
    assert [round(float(lin(k)), 6) for k in (0, 2, 5, 10)] == [1.0, 0.8, 0.5, 0.0]
    cos = HoldThenDecay(1.0, total_steps=10, start=0.0, shape="cosine")
    assert float(cos(2)) == pytest.approx(0.5 * (1 + np.cos(np.pi * 0.2)))


def test_lr_decay_option_errors():
    from mri_gan.errors import MriGanError
    from mri_gan.gans.lr_schedule import learning_rate

    assert learning_rate(1e-4, "none", 0.5, 1000) == 1e-4
    assert learning_rate(1e-4, "linear", 0.5, 0) == 1e-4  # no step count known: constant
    with pytest.raises(MriGanError, match="train.lr_decay must be one of"):
        learning_rate(1e-4, "step", 0.5, 1000)
    with pytest.raises(MriGanError, match="train.lr_decay_start"):
        learning_rate(1e-4, "linear", 1.0, 1000)


def _decay_cfg():
    cfg = _small(Config())
    cfg.train.batch_size, cfg.train.eval_every = 8, 0.0
    cfg.train.lr_decay, cfg.train.lr_decay_start = "linear", 0.5
    return cfg


def test_fit_decays_both_learning_rates_to_zero_at_the_end_and_resume_continues(tmp_path, tiny_prep):
    from mri_gan.gans.fit import run_fit

    lr = lambda opt: float(opt.learning_rate)  # noqa: E731 (the schedule at the optimizer's step)
    run = tmp_path / "run"
    gan = run_fit(tiny_prep, "glioma", run, _decay_cfg(), epochs=2, verbose=0)["gan"]  # 3 steps an epoch
    assert int(gan.g_optimizer.iterations.numpy()) == 6
    assert lr(gan.g_optimizer) == 0.0 and lr(gan.d_optimizer) == 0.0  # the end of its 6-step budget
    gan.g_optimizer.iterations.assign(4)  # 1/3 of the way through the decay (steps 3..6)
    assert lr(gan.g_optimizer) == pytest.approx(Config().train.g_lr * 2 / 3)
    # resumed with a longer budget: the schedule is over the new total (12 steps), from step 6 on
    gan = run_fit(tiny_prep, "glioma", run, _decay_cfg(), epochs=4, verbose=0, resume=True)["gan"]
    assert int(gan.g_optimizer.iterations.numpy()) == 12
    assert lr(gan.g_optimizer) == 0.0
    gan.d_optimizer.iterations.assign(9)
    assert lr(gan.d_optimizer) == pytest.approx(Config().train.d_lr * 0.5)
