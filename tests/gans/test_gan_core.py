"""GAN models and the one train_step: shapes, serialisation, updates, spectral norm, every kind."""

from __future__ import annotations

import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.errors import MriGanError


def tiny_cfg(**gan) -> Config:
    """A small Table I GAN (kind proposed unless `kind=` says otherwise: this file tests the paper's
    models; the default kind, dcgan, has its own tests in tests/models/test_dcgan_infogan.py)."""
    cfg = Config()
    g = cfg.gan
    g.kind = "proposed"
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 32, 8, 8, 32, 16
    for k, v in gan.items():
        setattr(g, k, v)
    cfg.train.batch_size = 8
    return cfg


def _batch(n=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, size, size, 1)).astype(np.float32), rng.integers(0, 4, n)


@pytest.mark.parametrize("size", [16, 32, 64, 128, 256, 512])
def test_shapes_every_size(size):
    from mri_gan.models.discriminator import build_discriminator, discriminator_widths
    from mri_gan.models.generator import build_generator, generator_widths

    cfg = tiny_cfg()
    assert build_discriminator(cfg.gan, size).input_shape == (None, size, size, 2)  # default: PacGAN pairs
    cfg.gan.pack, cfg.gan.spectral_norm = 1, True  # Table I's single-image D with spectral norm
    g = build_generator(cfg.gan, size)
    d = build_discriminator(cfg.gan, size)
    assert g.output_shape == (None, size, size, 1) and g.input_shape == (None, 16)
    assert d.output_shape == (None, 1)
    n_stages = int(np.log2(size // 4))
    assert len(generator_widths(cfg.gan, size)) == n_stages == len(discriminator_widths(cfg.gan, size))
    assert sum(type(layer).__name__ == "SpectralNormalization" for layer in d.layers) == n_stages + 1
    if size <= 32:  # run them at small sizes only
        x = np.asarray(g(np.zeros((2, 16), np.float32)))
        assert x.shape == (2, size, size, 1) and np.all(np.abs(x) <= 1)
        assert np.asarray(d(x)).shape == (2, 1)
    gc = build_generator(cfg.gan, size, num_classes=4)
    dc = build_discriminator(cfg.gan, size, num_classes=4)
    assert gc.output_shape == (None, size, size, 1) and dc.output_shape == (None, 1)


def test_bad_size_is_one_line_error():
    from mri_gan.models.generator import build_generator

    with pytest.raises(MriGanError, match="power of two"):
        build_generator(tiny_cfg().gan, 48)


@pytest.mark.parametrize("num_classes", [0, 4])
def test_keras_round_trip_exact(tmp_path, num_classes):
    import keras

    from mri_gan.models.discriminator import build_discriminator
    from mri_gan.models.generator import build_generator

    cfg = tiny_cfg()
    cfg.gan.pack = 1  # D on single images here (3 of them)
    z = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32)
    y = np.array([[0], [1], [3]], np.int32)
    for model, args in ((build_generator(cfg.gan, 32, num_classes), z),
                        (build_discriminator(cfg.gan, 32, num_classes), _batch(3)[0])):
        inputs = [args, y] if num_classes else args
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        back = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_array_equal(np.asarray(model(inputs)), np.asarray(back(inputs)))


def _weights(model):
    return [np.array(w) for w in model.weights]


def _trained_by_optimizer(model):
    """Trainable weights that only an optimizer step changes: spectral norm rewrites its wrapped
    kernel in every training-mode call, so those kernels are left out."""
    sn = {id(layer.layer.kernel) for layer in model._flatten_layers(include_self=False)
          if type(layer).__name__ == "SpectralNormalization"}
    return [np.array(w) for w in model.trainable_weights if id(w) not in sn]


def _changed(before, after):
    assert len(before) == len(after) and before
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("kind", ["proposed", "dcgan"])
def test_zero_learning_rate_freezes_the_weights(kind):
    """The counterpart of the check above: with lr 0 a step runs (iterations count) but no
    trainable weight moves, so "weights changed" really measures the optimizer steps."""
    from mri_gan.gans.factory import build_gan

    cfg = tiny_cfg(kind=kind, spectral_norm=False)
    cfg.train.d_lr = cfg.train.g_lr = 0.0
    gan = build_gan(cfg, 32)
    g0, d0 = _trained_by_optimizer(gan.generator), _trained_by_optimizer(gan.discriminator)
    x, _ = _batch(8)
    for _ in range(2):
        gan.train_on_batch(x, return_dict=True)
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 2
    assert not _changed(g0, _trained_by_optimizer(gan.generator))
    assert not _changed(d0, _trained_by_optimizer(gan.discriminator))


def test_batchnorm_discriminator_sees_real_and_fake_apart():
    """DCGAN's BatchNorm D normalises real and fake batches separately: its output on the real
    half does not depend on the fake half. One joint pass (what a D without BatchNorm gets)
    mixes the statistics, and the real logits then change with the fakes."""
    import tensorflow as tf

    from mri_gan.gans.factory import build_gan

    gan = build_gan(tiny_cfg(kind="dcgan"), 32)
    real, _ = _batch(8, seed=1)
    fake_a, _ = _batch(8, seed=2)
    fake_b = np.clip(fake_a * 0.3 + 0.5, -1, 1).astype(np.float32)

    def real_logits():
        out = []
        for fake in (fake_a, fake_b):
            logits = gan._d_pair(tf.concat([real, fake], axis=0), None, 8)[0]
            out.append(np.asarray(logits)[:8])
        return out

    a, b = real_logits()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    gan.d_has_batchnorm = False  # what a single pass would give: the test can tell them apart
    a, b = real_logits()
    assert not np.allclose(a, b, atol=1e-4)


def test_train_step_updates_weights_and_spectral_norm():
    from mri_gan.gans.factory import build_gan

    gan = build_gan(tiny_cfg(spectral_norm=True), 32)
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    x, _ = _batch(32)
    hist = gan.fit(x, batch_size=8, epochs=3, verbose=0).history
    assert set(hist) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v[0]) for v in hist.values())
    assert any(not np.array_equal(a, b) for a, b in zip(g0, _weights(gan.generator)))
    assert any(not np.array_equal(a, b) for a, b in zip(d0, _weights(gan.discriminator)))
    # the power iteration ran during training: the kernel a training-mode call uses has its top
    # singular value ~1, while the initial (glorot) kernels were far from 1
    def sigmas(model):
        sns = [layer for layer in model.layers if type(layer).__name__ == "SpectralNormalization"]
        out = []
        for layer in sns:
            k = np.array(layer.layer.kernel)
            out.append(np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0])
        return np.array(out)

    sigma_init = []
    for w, var in zip(d0, gan.discriminator.weights):
        if var.path.endswith("kernel") and w.ndim >= 2:
            sigma_init.append(np.linalg.svd(w.reshape(-1, w.shape[-1]), compute_uv=False)[0])
    assert np.max(np.abs(np.array(sigma_init) - 1.0)) > 0.3
    assert np.all(np.abs(sigmas(gan.discriminator) - 1.0) < 0.15)  # after the last Adam update
    from mri_gan.gans.gan import pack_images

    gan.discriminator(pack_images(x[:8], gan.settings.pack), training=True)
    s = sigmas(gan.discriminator)
    assert len(s) == 4 and np.all(np.abs(s - 1.0) < 0.05), s


KINDS = [
    ("proposed", {}, {}),
    ("dcgan", {}, {}),
    ("lsgan", {}, {}),
    ("wgan_gp", {"n_critic": 2}, {}),
    ("infogan", {"info_categorical": 3, "info_continuous": 2}, {}),
    ("conditional", {"conditional": True}, {}),
    ("hinge", {"loss": "hinge"}, {}),
    ("r1", {"r1_gamma": 1.0}, {"diffaugment": "translation"}),
    ("tricks", {}, {"diffaugment": "translation,cutout,color", "ada": True, "ada_target": -1.5,
                    "ada_interval": 1, "ema": 0.5}),
]


@pytest.mark.parametrize("name,gan_kw,train_kw", KINDS, ids=[k[0] for k in KINDS])
def test_every_kind_trains_one_step(name, gan_kw, train_kw):
    from mri_gan.gans.factory import build_gan

    kind = name if name in ("proposed", "dcgan", "lsgan", "wgan_gp", "infogan") else "proposed"
    cfg = tiny_cfg(kind=kind, **gan_kw)
    for k, v in train_kw.items():
        setattr(cfg.train, k, v)
    nc = 4 if cfg.gan.conditional else 0
    gan = build_gan(cfg, 32, nc)
    x, y = _batch(8)
    g0, d0 = _trained_by_optimizer(gan.generator), _trained_by_optimizer(gan.discriminator)
    logs = []
    for _ in range(2):
        gan.reset_metrics()
        logs.append(gan.train_on_batch(x, y if nc else None, return_dict=True))
    for key in ("d_loss", "g_loss"):
        assert np.isfinite(logs[0][key]) and np.isfinite(logs[1][key])
    # both optimizers stepped the weights (a loss can move on new z alone, so check the weights)
    assert _changed(g0, _trained_by_optimizer(gan.generator)), f"{name}: G did not change"
    assert _changed(d0, _trained_by_optimizer(gan.discriminator)), f"{name}: D did not change"
    n_critic = gan_kw.get("n_critic", 1)
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 2 * n_critic
    z = gan.sample_latent(4, 0)
    assert z.shape == (4, gan.settings.input_dim)
    if name == "wgan_gp":
        assert "gp" in logs[0] and np.isfinite(logs[0]["gp"]) and logs[0]["gp"] > 0
        assert not any(type(layer).__name__ == "SpectralNormalization" for layer in gan.discriminator.layers)
    if name == "infogan":  # the categorical code changes the image
        z2 = z.copy()
        z2[:, 16:19] = np.roll(z[:, 16:19], 1, axis=1)
        assert not np.allclose(np.asarray(gan.generate(z)), np.asarray(gan.generate(z2)))
        assert "info_loss" in logs[0]
    if name == "conditional":
        a = np.asarray(gan.generate(z, [0, 0, 0, 0]))
        b = np.asarray(gan.generate(z, [1, 1, 1, 1]))
        assert not np.allclose(a, b)
    if name == "r1":
        assert logs[0]["r1"] > 0
    if name == "tricks":
        # target -1.5, below any E[sign(D(real))]: p rises every step (at -1 it stays put when every
        # real logit is negative, which the reused fakes' draw order gives this tiny model)
        assert float(gan.ada_p.numpy()) > 0 and logs[1]["ada_p"] > 0
        ema = _weights(gan.ema_generator)
        assert any(not np.array_equal(a, b) for a, b in zip(ema, _weights(gan.generator)))
        np.testing.assert_allclose(np.asarray(gan.generate(z)), np.asarray(gan.ema_generator(z, training=False)))


def test_bad_kind_and_loss_are_one_line_errors():
    from mri_gan.gans.factory import build_gan

    with pytest.raises(MriGanError, match="gan.kind"):
        build_gan(tiny_cfg(kind="stylegan"), 32)
    with pytest.raises(MriGanError, match="gan.loss"):
        build_gan(tiny_cfg(loss="nope"), 32)
    with pytest.raises(MriGanError, match="gan.conditional works with kinds proposed, dcgan, lsgan, wgan_gp, not 'infogan'"):
        build_gan(tiny_cfg(kind="infogan"), 32, num_classes=4)


def test_sample_latent_is_the_plain_normal_draw_then_the_infogan_codes():
    """z ~ N(0, 1) from NumPy seeded by the seed (the same files on every machine), then a one-hot
    categorical code and uniform(-1, 1) continuous codes."""
    from mri_gan.gans.sampling import sample_latent

    plain = sample_latent(500, [3, 1], 16)
    np.testing.assert_array_equal(plain, np.random.default_rng([3, 1]).standard_normal((500, 16)).astype(np.float32))
    np.testing.assert_array_equal(sample_latent(500, [3, 1], 16), plain)
    info = sample_latent(50, 0, 8, info_categorical=3, info_continuous=2)
    assert info.shape == (50, 13) and set(np.unique(info[:, 8:11])) == {0.0, 1.0}
    assert (info[:, 8:11].sum(axis=1) == 1).all() and np.abs(info[:, 11:]).max() <= 1.0
