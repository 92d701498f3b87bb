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


def test_keras_batches_match_tf_data_and_reshuffle(tiny_prep):
    """The PyDataset used under JAX/PyTorch gives the tf.data values; its seeded order changes per epoch."""
    paths, labels, _ = pipeline.list_split(tiny_prep, "train")
    kb = pipeline.keras_batches(paths, labels, batch_size=10, shuffle=False)
    tf_batches = list(pipeline.make_dataset(paths, labels, batch_size=10, shuffle=False))
    assert len(kb) == len(tf_batches) == -(-len(paths) // 10)
    for i, (x, y) in enumerate(tf_batches):
        kx, ky = kb[i]
        assert kx.dtype == np.float32 and kx.shape == tuple(x.shape)
        np.testing.assert_array_equal(kx, x.numpy())
        np.testing.assert_array_equal(ky, y.numpy())
    assert pipeline.keras_batches(paths, None, 10, shuffle=False)[0].shape == (10, 32, 32, 1)
    assert len(pipeline.keras_batches(paths, labels, 10, drop_remainder=True)) == len(paths) // 10

    def epoch_labels(ds):
        return np.concatenate([ds[i][1] for i in range(len(ds))])

    a, b = pipeline.keras_batches(paths, labels, 10, seed=3), pipeline.keras_batches(paths, labels, 10, seed=3)
    first = epoch_labels(a)
    np.testing.assert_array_equal(first, epoch_labels(b))  # same seed, same order
    assert sorted(first.tolist()) == sorted(labels.tolist())  # a permutation: nothing dropped or repeated
    a.on_epoch_end()
    second = epoch_labels(a)
    assert sorted(second.tolist()) == sorted(first.tolist()) and not np.array_equal(second, first)
