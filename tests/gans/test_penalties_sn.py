"""Per-image penalties, minibatch-stddev groups, D health numbers, PacGAN packs and reused fakes."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from mri_gan.config import Config


def _small(cfg):
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 16, 8, 8, 16, 8
    g.pack = 1  # single-image D inputs (the PacGAN test sets 2)
    g.kind = "proposed"  # the Table I D this file is about (the dcgan tests set their kind)
    return cfg


def _cross_gradient(D, size=16):
    """|d D(x)_0 / d x_1|: nonzero when image 1 changes image 0's output."""
    x = tf.random.stateless_normal((8, size, size, 1), [1, 2])
    with tf.GradientTape() as t:
        t.watch(x)
        out0 = D(x, training=True)[0, 0]
    return float(tf.reduce_sum(tf.abs(t.gradient(out0, x)[1])))


@pytest.mark.parametrize("kind,changes", [("wgan_gp", {}), ("proposed", {"r1_gamma": 1.0}),
                                          ("proposed", {"loss": "wgan_gp"})])
def test_penalised_discriminators_are_per_image(kind, changes):
    from mri_gan.gans.factory import build_models

    cfg = _small(Config())
    cfg.gan.kind = kind
    for k, v in changes.items():
        setattr(cfg.gan, k, v)
    cfg.gan.minibatch_std = 4  # the channel is asked for ...
    _, D = build_models(cfg.gan, 16)
    assert _cross_gradient(D) == 0.0  # ... and dropped: the penalty is a per-image penalty


def test_unpenalised_discriminator_with_the_channel_couples_images_of_a_group():
    from mri_gan.gans.factory import build_models

    cfg = _small(Config())
    cfg.gan.minibatch_std, cfg.gan.r1_gamma = 4, 0.0
    _, D = build_models(cfg.gan, 16)
    assert _cross_gradient(D) > 0.0  # what the penalised kinds must not have


def test_dcgan_penalty_call_through_batchnorm():
    """DCGAN's D has BatchNorm in training mode: its plain call couples the images of a batch
    through the batch moments. The call R1 / the gradient penalty differentiate (`GAN._critic`)
    is that coupled D, the one the loss trains, with the plain call's values."""
    from mri_gan.gans.factory import build_gan

    cfg = _small(Config())
    cfg.gan.kind = "dcgan"
    gan = build_gan(cfg, 16)
    assert gan.settings.r1_gamma > 0 and gan.d_has_batchnorm
    D = gan.discriminator
    assert _cross_gradient(D) > 1e-3  # the plain call: image 1 moves image 0's logit
    x = tf.random.stateless_normal((8, 16, 16, 1), [1, 2])
    with tf.GradientTape() as t:
        t.watch(x)
        out = gan._critic(x, None)
        out0 = out[0, 0]
    grad = t.gradient(out0, x).numpy()
    assert np.abs(grad[0]).sum() > 0.0
    assert np.abs(grad[1:]).sum() > 1e-3
    np.testing.assert_allclose(out.numpy(), D(x, training=True).numpy(), rtol=1e-5, atol=1e-6)


def test_r1_by_default_on_both_d_kinds_per_image_table1_d_no_r1_for_wgan_gp():
    from mri_gan.gans.factory import build_gan, build_models

    cfg = Config()
    assert cfg.gan.kind == "dcgan"
    cfg.gan.g_width, cfg.gan.d_width, cfg.gan.d_max_width = 16, 8, 16
    assert build_gan(cfg, 16).settings.r1_gamma == pytest.approx(0.1)  # the default kind trains with R1 as well
    cfg = _small(Config())
    assert cfg.gan.r1_gamma == 0.1 and cfg.gan.minibatch_std == 0
    assert build_gan(cfg, 16).settings.r1_gamma == pytest.approx(0.1)
    _, D = build_models(cfg.gan, 16)
    assert _cross_gradient(D) == 0.0
    cfg.gan.kind = "wgan_gp"  # its gradient penalty is its own: R1 is not added on top
    gan = build_gan(cfg, 16)
    assert gan.settings.r1_gamma == 0.0 and gan.settings.gp_weight > 0
    cfg.gan.kind, cfg.gan.loss = "proposed", "wgan_gp"
    assert build_gan(cfg, 16).settings.r1_gamma == 0.0


def test_batch_that_mixes_real_and_fake_in_a_group_is_refused(tmp_path, tiny_prep):
    from mri_gan.errors import MriGanError
    from mri_gan.gans.fit import run_fit

    cfg = _small(Config())
    cfg.gan.pack, cfg.gan.r1_gamma, cfg.gan.minibatch_std = 1, 0.0, 4
    cfg.train.batch_size = 6  # [6 real; 6 fake] in groups of 4: group 2 holds reals and fakes
    with pytest.raises(MriGanError, match="minibatch-stddev group"):
        run_fit(tiny_prep, "glioma", tmp_path / "run", cfg, epochs=1, verbose=0)
    cfg.gan.minibatch_std = 2
    run_fit(tiny_prep, "glioma", tmp_path / "run2", cfg, epochs=1, verbose=0)
    cfg.gan.minibatch_std, cfg.gan.pack, cfg.train.batch_size = 4, 2, 12  # 6 packs per side, groups of 4
    with pytest.raises(MriGanError, match="minibatch-stddev group"):
        run_fit(tiny_prep, "glioma", tmp_path / "run3", cfg, epochs=1, verbose=0)


@pytest.mark.parametrize("loss,real,fake,acc", [
    ("bce", [2.0, -1.0, 3.0, 0.5], [-2.0, 1.0, -0.1, -3.0], (0.75, 0.75)),
    ("lsgan", [0.9, 0.4, 0.6, 0.2], [0.1, 0.7, 0.3, 0.2], (0.5, 0.75)),
    ("wgan_gp", [5.0, 6.0, 7.0, 2.0], [1.0, 2.0, 3.0, 8.0], (0.75, 0.75)),  # threshold = midpoint 4.25
])
def test_discriminator_health_numbers(loss, real, fake, acc):
    from mri_gan.gans.factory import build_gan

    cfg = _small(Config())
    cfg.gan.loss = loss
    gan = build_gan(cfg, 16)
    from mri_gan.gans.trackers import health

    a_r, a_f, margin = health(gan.loss_name, tf.constant(real)[:, None], tf.constant(fake)[:, None])
    assert (float(a_r), float(a_f)) == pytest.approx(acc)
    assert float(margin) == pytest.approx(np.mean(real) - np.mean(fake), abs=1e-6)


def test_pacgan_packs_consecutive_images_as_channels_and_trains():
    from mri_gan.errors import MriGanError
    from mri_gan.gans.factory import build_gan
    from mri_gan.gans.gan import pack_images

    cfg = _small(Config())
    cfg.gan.pack = 2
    gan = build_gan(cfg, 16)
    assert gan.discriminator.input_shape == (None, 16, 16, 2)
    x = tf.reshape(tf.range(4 * 16 * 16, dtype=tf.float32), (4, 16, 16, 1))
    p = pack_images(x, gan.settings.pack).numpy()
    assert p.shape == (2, 16, 16, 2)
    np.testing.assert_array_equal(p[1, :, :, 0], x.numpy()[2, :, :, 0])  # pack 1 = images 2 and 3
    np.testing.assert_array_equal(p[1, :, :, 1], x.numpy()[3, :, :, 0])
    logs = gan.train_step(tf.random.stateless_uniform((8, 16, 16, 1), [5, 6], -1, 1))
    assert np.isfinite(float(logs["d_loss"])) and 0 <= float(logs["d_acc_real"]) <= 1
    for kind in ("dcgan", "infogan"):  # single-image discriminators: the pack does not apply
        cfg.gan.kind = kind
        assert build_gan(cfg, 16).settings.pack == 1
    cfg.gan.kind, cfg.gan.pack = "proposed", 0
    with pytest.raises(MriGanError, match="gan.pack"):
        build_gan(cfg, 16)


class _CountingGenerator:
    def __init__(self, g):
        self.g, self.calls = g, 0

    def __call__(self, *a, **k):
        self.calls += 1
        return self.g(*a, **k)

    def __getattr__(self, name):
        return getattr(self.g, name)


@pytest.mark.parametrize("reuse,calls", [(False, 2), (True, 1)])
def test_reuse_fakes_runs_the_generator_once_per_step(reuse, calls):
    from mri_gan.gans.factory import build_gan

    cfg = _small(Config())
    cfg.train.reuse_fakes = reuse
    gan = build_gan(cfg, 16)
    before = [np.array(w) for w in gan.generator.trainable_weights + gan.discriminator.trainable_weights]
    gan.generator = counter = _CountingGenerator(gan.generator)
    logs = gan.train_step(tf.random.stateless_uniform((8, 16, 16, 1), [5, 6], -1, 1))
    assert counter.calls == calls
    assert np.isfinite(float(logs["g_loss"])) and np.isfinite(float(logs["d_loss"]))
    after = counter.g.trainable_weights + gan.discriminator.trainable_weights
    assert all(not np.array_equal(a, np.array(b)) for a, b in zip(before, after))  # both nets were updated


def test_a_channel_dropped_for_a_penalty_is_said(capsys):
    """Asked for with R1 on (the default), the channel is not built: loading the config says so in
    one line, and the effective config (what a run saves) holds 0."""
    from mri_gan.config import load_config
    from mri_gan.gans.factory import effective_config

    cfg = load_config(None, ["gan.kind=proposed", "gan.minibatch_std=4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gan.minibatch_std 4 is ignored under gan.kind proposed" in err[0] and "per-image" in err[0]
    assert effective_config(cfg).gan.minibatch_std == 0
    load_config(None, ["gan.kind=proposed", "gan.minibatch_std=4", "gan.r1_gamma=0"])  # without R1 it is used
    assert capsys.readouterr().err == ""
