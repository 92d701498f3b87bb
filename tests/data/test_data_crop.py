"""crop: known bounding boxes on synthetic images, noise, no margin, aspect-preserving resize."""

import numpy as np
import pytest

from mri_gan.config import DataConfig
from mri_gan.data.crop import head_bbox, preprocess_array


def _head(h=200, w=300, box=(60, 40, 120, 140), value=120):
    """Black image with a textured bright rectangle at box = (x, y, w, h)."""
    img = np.zeros((h, w), np.uint8)
    x, y, bw, bh = box
    rng = np.random.default_rng(0)
    img[y:y + bh, x:x + bw] = rng.integers(value - 40, value + 40, (bh, bw))
    return img


def _close(box, want, tol=2):
    (x, y, w, h), (X, Y, W, H) = box, want
    # the 5x5 blur lets the box reach at most `tol` px into the margin, never cut into the head
    return X - tol <= x <= X and Y - tol <= y <= Y and x + w >= X + W and x + w <= X + W + tol \
        and y + h >= Y + H and y + h <= Y + H + tol


def test_known_box():
    assert _close(head_bbox(_head(), 10), (60, 40, 120, 140))
    assert _close(head_bbox(_head(300, 200, (10, 120, 50, 170)), 10), (10, 120, 50, 170))


def test_noise_and_speckles_ignored():
    img = _head().astype(np.int16)
    rng = np.random.default_rng(1)
    img += rng.normal(0, 3, img.shape).astype(np.int16)  # background JPEG-like noise
    img = img.clip(0, 255).astype(np.uint8)
    ys, xs = rng.integers(0, 200, 50), rng.integers(0, 40, 50)  # salt in the left margin
    img[ys, xs] = 255
    img[5:12, 250:290] = 255  # a text label: a separate, smaller blob
    assert _close(head_bbox(img, 10), (60, 40, 120, 140))


def test_no_margin_and_blank_keep_full_image():
    rng = np.random.default_rng(2)
    full = rng.integers(60, 200, (100, 80), dtype=np.uint8)
    assert head_bbox(full, 10) == (0, 0, 80, 100)
    assert head_bbox(np.zeros((50, 70), np.uint8), 10) == (0, 0, 70, 50)


def test_preprocess_pads_to_square_keeping_aspect():
    cfg = DataConfig()
    img = np.zeros((300, 300), np.uint8)
    img[100:150, 50:150] = 200  # 100 wide x 50 tall, flat
    out = preprocess_array(img, 64, cfg)
    assert out.shape == (64, 64) and out.dtype == np.uint8
    rows = np.flatnonzero(out.max(1) > 100)
    cols = np.flatnonzero(out.max(0) > 100)
    assert cols[0] <= 1 and cols[-1] >= 62  # full width
    assert 30 <= len(rows) <= 34 and abs((rows[0] + rows[-1]) / 2 - 31.5) <= 1  # half height, centered


def test_preprocess_stretch_and_validation():
    cfg = DataConfig(pad=False)
    img = np.zeros((300, 300), np.uint8)
    img[100:150, 50:150] = 200
    out = preprocess_array(img, 32, cfg)
    assert (out[2:-2, 2:-2] == 200).all()  # stretched: the head fills the square (bar the rim)
    with pytest.raises(ValueError):
        preprocess_array(np.zeros((10, 10, 3), np.uint8), 32, cfg)


def test_upscale_small_image():
    out = preprocess_array(_head(40, 40, (5, 5, 30, 30)), 128, DataConfig())
    assert out.shape == (128, 128)
