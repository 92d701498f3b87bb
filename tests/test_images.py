"""The one image mosaic (mri_gan.images.image_grid) and the one list of GAN kinds."""

from __future__ import annotations

import numpy as np

from mri_gan.images import image_grid


def test_grid_places_tiles_row_major_with_padding():
    x = np.stack([np.full((2, 3), i + 1, np.uint8) for i in range(5)])
    g = image_grid(x, 2, pad=1)
    assert g.shape == (3 * 3 + 1, 2 * 4 + 1)
    assert g[1, 1] == 1 and g[1, 5] == 2 and g[4, 1] == 3 and g[7, 1] == 5
    assert g[7, 5] == 0 and g[0].max() == 0 and g[:, 0].max() == 0  # missing tile and border black
    np.testing.assert_array_equal(g[1:3, 5:8], x[1])


def test_fixed_rows_drop_the_rest_and_no_padding_is_a_plain_tiling():
    x = np.random.default_rng(0).integers(0, 255, (6, 4, 4), dtype=np.uint8)
    g = image_grid(x, 2, pad=0, rows=2)
    np.testing.assert_array_equal(g, np.vstack([np.hstack(x[0:2]), np.hstack(x[2:4])]))
    assert image_grid(x[:1], 2, pad=0, rows=2)[4:].max() == 0


def test_one_list_of_kinds():
    from mri_gan.experiments import compare
    from mri_gan.gans import factory

    assert compare.KINDS is factory.KINDS and set(factory.KIND_NAMES) == set(factory.KINDS)
