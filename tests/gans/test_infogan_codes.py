"""InfoGAN: the latent codes reach the generator (changing only a code changes the image)."""

from __future__ import annotations

import numpy as np

from tests.gans.test_gan_core import tiny_cfg


def test_infogan_codes_change_outputs():
    from mri_gan.gans.factory import build_gan

    cfg = tiny_cfg(kind="infogan", info_categorical=4, info_continuous=2)
    gan = build_gan(cfg, 16)
    z = gan.sample_latent(4, seed=0)
    assert z.shape == (4, 16 + 4 + 2)
    base = np.asarray(gan.generate(z))
    cat = z.copy()
    cat[:, 16:20] = np.roll(cat[:, 16:20], 1, axis=1)  # another categorical code, same noise
    cont = z.copy()
    cont[:, 20:] = -cont[:, 20:]  # other continuous codes, same noise
    for other in (cat, cont):
        diff = np.abs(np.asarray(gan.generate(other)) - base).mean(axis=(1, 2, 3))
        assert (diff > 1e-4).all()
    np.testing.assert_array_equal(np.asarray(gan.generate(z)), base)  # and the same input gives the same image
