"""The GAN's training batches: every image of a class decoded once into uint8 memory, and each
epoch's order a permutation seeded by (seed, epoch) only, so a resumed run sees exactly the
batches of an uninterrupted one (mri_gan/gans/fit.py). tf.data on TensorFlow, a NumPy generator
over the same order on another backend.
"""

from __future__ import annotations

from mri_gan.errors import MriGanError


def decode_all(paths, size: int):
    """All PNGs of `paths` as one uint8 array (N, size, size, 1), decoded in parallel by tf.data
    (by OpenCV on another backend)."""
    import numpy as np

    from mri_gan.backend import is_tensorflow

    if not is_tensorflow():
        from mri_gan.data.pipeline import load_uint8

        images = load_uint8(list(paths))
        if images.shape[1:] != (size, size):
            raise MriGanError(f"a training image is not a {size}x{size} PNG (found {images.shape[1:]})")
        return images[..., None]
    import tensorflow as tf

    def decode(path):
        return tf.ensure_shape(tf.io.decode_png(tf.io.read_file(path), channels=1), (size, size, 1))

    ds = tf.data.Dataset.from_tensor_slices(list(paths)).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(256)
    try:
        return np.concatenate([b.numpy() for b in ds], axis=0)
    except tf.errors.InvalidArgumentError as e:
        raise MriGanError(f"a training image is not a {size}x{size} PNG: {str(e).splitlines()[0][:200]}") from None


def epoch_order(n: int, batch_size: int, seed: int, first_epoch: int, last_epoch: int, skip_batches: int = 0):
    """Image indices, (epochs * steps - skip_batches, batch_size): epoch e is a permutation seeded by
    (seed, e) only, so a resumed run sees exactly the order of a straight one; `skip_batches` drops
    the batches of `first_epoch` trained before an interruption. The last partial batch is dropped."""
    import numpy as np

    steps = n // batch_size
    rows = [np.random.default_rng([seed, e]).permutation(n)[: steps * batch_size].reshape(steps, batch_size)
            for e in range(first_epoch, last_epoch)]
    return np.concatenate(rows, axis=0).astype(np.int32)[skip_batches:]


def epoch_dataset(images_uint8, labels, batch_size: int, seed: int, first_epoch: int, last_epoch: int,
                  skip_batches: int = 0):
    """Batches for epochs [first_epoch, last_epoch), less the first `skip_batches` of first_epoch:
    float32 images in [-1, 1] (+ int32 labels).

    Images stay uint8 in memory (N x S x S bytes: 85 MB for 1,300 images at 256 px); a batch is
    a gather of precomputed indices, cast and scaled in parallel with training (prefetch). On
    another backend: a generator of the same NumPy batches (Keras keeps it across epochs)."""
    import numpy as np

    from mri_gan.backend import is_tensorflow

    order = epoch_order(len(images_uint8), batch_size, seed, first_epoch, last_epoch, skip_batches)
    if not is_tensorflow():
        y_np = np.asarray(labels, np.int32) if labels is not None else None

        def batches():
            for idx in order:
                x = images_uint8[idx].astype(np.float32) / 127.5 - 1.0
                yield (x,) if y_np is None else (x, y_np[idx])

        return batches()
    import tensorflow as tf

    images = tf.constant(images_uint8)
    y = tf.constant(np.asarray(labels, np.int32)) if labels is not None else None

    def batch(idx):
        x = tf.cast(tf.gather(images, idx), tf.float32) / 127.5 - 1.0
        return x if y is None else (x, tf.gather(y, idx))

    ds = tf.data.Dataset.from_tensor_slices(order).map(batch, num_parallel_calls=tf.data.AUTOTUNE,
                                                         deterministic=True)
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts).prefetch(tf.data.AUTOTUNE)
