import numpy as np
import pytest

from mri_gan.data import pipeline
from mri_gan.errors import MriGanError


def test_list_split_labels_index_sorted_classes(tiny_prep):
    paths, labels, names = pipeline.list_split(tiny_prep, "train", ["pituitary", "glioma"])
    assert names == ["glioma", "meningioma", "notumor", "pituitary"]
    assert len(paths) == 48 and set(labels.tolist()) == {0, 3}
    assert all("pituitary" in p for p, y in zip(paths, labels) if y == 3)


def test_unknown_class_and_missing_prep(tiny_prep, tmp_path):
    with pytest.raises(MriGanError, match="unknown class"):
        pipeline.list_split(tiny_prep, "train", ["nope"])
    with pytest.raises(MriGanError, match="not found"):
        pipeline.read_prepared_info(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MriGanError, match="prepare"):
        pipeline.read_prepared_info(tmp_path / "empty")


def test_dataset_range_shape_dtype_and_determinism(tiny_prep):
    import tensorflow as tf

    paths, labels, _ = pipeline.list_split(tiny_prep, "train")
    ds = pipeline.make_dataset(paths, labels, batch_size=10, shuffle=True, seed=3)
    x, y = next(iter(ds))
    assert x.dtype == tf.float32 and x.shape == (10, 32, 32, 1) and y.dtype == tf.int64
    assert float(tf.reduce_min(x)) >= -1.0 and float(tf.reduce_max(x)) <= 1.0
    # same seed -> same order; the decoded values equal the files
    first = [b[1].numpy().tolist() for b in pipeline.make_dataset(paths, labels, 10, seed=3)]
    second = [b[1].numpy().tolist() for b in pipeline.make_dataset(paths, labels, 10, seed=3)]
    assert first == second
    raw = pipeline.load_uint8(paths[:4])
    ds0 = pipeline.make_dataset(paths[:4], batch_size=4, shuffle=False)
    np.testing.assert_array_equal(pipeline.to_uint8(next(iter(ds0)).numpy()[..., 0]), raw)


def test_gan_dataset_one_class(tiny_prep):
    ds, n, names = pipeline.gan_dataset(tiny_prep, ["glioma"], batch_size=8)
    assert n == 24 and len(list(ds)) == 3
    with pytest.raises(MriGanError, match="batch size"):
        pipeline.gan_dataset(tiny_prep, ["glioma"], batch_size=64)
