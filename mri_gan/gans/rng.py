"""Stateless random draws from a (2,) integer seed, the same call on every Keras backend.

The GAN's step draws all its randomness from seeds of one `keras.random.SeedGenerator` (whose
state is checkpointed), so a resumed run repeats the same draws. `keras.random.*` takes such a
seed tensor on JAX (a raw `uint32` key) but rejects it on TensorFlow (only ints and
SeedGenerators there), so on TensorFlow these call `tf.random.stateless_*` (the ops the step
always used: TF runs keep their numbers) and on JAX `keras.random.*` with the key and
`jax.random.split`. The same seed gives the same draw on one backend; the two backends' draws
differ (Philox vs threefry), so runs are reproducible per backend, not across backends.
"""

from __future__ import annotations

import keras


def _tf():
    return keras.backend.backend() == "tensorflow"


def _key(seed):
    from keras import ops

    return ops.cast(seed, "uint32")


def split(seed, n: int):
    """n independent seeds from one, shape (n, 2)."""
    if _tf():
        import tensorflow as tf

        return tf.random.experimental.stateless_split(tf.cast(tf.convert_to_tensor(seed), tf.int64), num=n)
    import jax

    return jax.random.split(_key(seed), n)


def normal(shape, seed):
    """float32 N(0, 1) of `shape`."""
    if _tf():
        import tensorflow as tf

        return tf.random.stateless_normal(shape, seed)
    return keras.random.normal(shape, seed=_key(seed), dtype="float32")


def uniform(shape, seed, minval=0.0, maxval=1.0, dtype="float32"):
    """Uniform in [minval, maxval): float32, or int32 (`dtype="int32"`, maxval excluded)."""
    if _tf():
        import tensorflow as tf

        return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype)
    if dtype == "int32":
        return keras.random.randint(shape, minval, maxval, seed=_key(seed), dtype="int32")
    return keras.random.uniform(shape, minval, maxval, seed=_key(seed), dtype=dtype)
