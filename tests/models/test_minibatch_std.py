"""The minibatch-stddev channel of the Table I discriminator (gan.minibatch_std)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mri_gan.config import Config
from mri_gan.models.discriminator import build_discriminator
from mri_gan.models.layers import MinibatchStdDev


def test_groups_are_consecutive_and_values_known():
    # 8 images, groups of 4: the first group is constant (std 0), the second has std 1 per feature
    x = np.zeros((8, 2, 2, 3), np.float32)
    x[4:6], x[6:8] = 1.0, -1.0  # values +-1 around mean 0 -> population std exactly 1
    y = MinibatchStdDev(4)(x).numpy()
    assert y.shape == (8, 2, 2, 4)
    np.testing.assert_allclose(y[..., :3], x)
    np.testing.assert_allclose(y[:4, ..., 3], 0.0, atol=1e-3)  # sqrt(0 + eps)
    np.testing.assert_allclose(y[4:, ..., 3], 1.0, atol=1e-6)


def test_real_and_fake_halves_never_share_a_group():
    # [real; fake] in one call: a collapsed fake half gets ~0 whatever the real half holds
    rng = np.random.default_rng(0)
    real = rng.normal(size=(8, 4, 4, 2)).astype(np.float32)
    fake = np.repeat(rng.normal(size=(1, 4, 4, 2)).astype(np.float32), 8, axis=0)
    y = MinibatchStdDev(4)(np.concatenate([real, fake])).numpy()[..., -1]
    assert y[:8].min() > 0.3
    assert y[8:].max() < 0.01


def test_batch_not_a_multiple_is_one_group():
    x = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1)
    y = MinibatchStdDev(4)(x).numpy()[..., -1].ravel()
    np.testing.assert_allclose(y, np.std(np.arange(5.0)), rtol=1e-5)


def test_discriminator_with_channel_round_trips(tmp_path):
    cfg = Config().gan
    cfg.minibatch_std, cfg.pack = 2, 1
    d = build_discriminator(cfg, 16)
    assert d.get_layer("minibatch_std").group_size == 2
    x = np.random.default_rng(1).uniform(-1, 1, (4, 16, 16, 1)).astype(np.float32)
    path = tmp_path / "d.keras"
    d.save(path)
    d2 = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(d2(x, training=False).numpy(), d(x, training=False).numpy(), atol=1e-6)
