"""The GAN's random inputs.

- `sample_latent`: generator inputs from NumPy, for sampling outside training (grids, quality
  measurements, synthesize): the same seed gives the same array on every machine.
- `draw_inputs`, `draw_alpha`: inside the train step, from the model's one
  `keras.random.SeedGenerator` (its state is checkpointed, so a resumed run draws what a straight
  one would); `next_seed` offsets each draw by the replica id under `tf.distribute`, so that
  replicas do not draw the same latents.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from mri_gan.gans import rng


def is_tf() -> bool:
    return keras.backend.backend() == "tensorflow"


def replica_info():
    """(replica id, replicas in sync): tf.distribute's on TensorFlow, (0, 1) elsewhere (JAX's
    DataParallel step sees the global batch)."""
    if not is_tf():
        return 0, 1
    import tensorflow as tf

    ctx = tf.distribute.get_replica_context()
    n = tf.distribute.get_strategy().num_replicas_in_sync
    if ctx is None:  # cross-replica context (e.g. eager outside fit)
        return 0, n
    return ctx.replica_id_in_sync_group, n


def sample_latent(n: int, seed, latent_dim: int, info_categorical: int = 0, info_continuous: int = 0) -> np.ndarray:
    """Generator input for `n` images from NumPy: z ~ N(0, 1) (latent_dim), then a one-hot
    categorical code and uniform(-1, 1) continuous codes for InfoGAN. The same seed (int or list
    of ints) gives the same array on every machine."""
    gen = np.random.default_rng(seed)
    z = gen.standard_normal((n, latent_dim))
    parts = [z.astype(np.float32)]
    if info_categorical > 0:
        parts.append(np.eye(info_categorical, dtype=np.float32)[gen.integers(0, info_categorical, n)])
    if info_continuous > 0:
        parts.append(gen.uniform(-1.0, 1.0, (n, info_continuous)).astype(np.float32))
    return np.concatenate(parts, axis=1)


def next_seed(seed_generator):
    """A fresh (2,) seed for stateless ops (int32 on TF, different on each replica; JAX's uint32 key)."""
    if not is_tf():
        return seed_generator.next()
    import tensorflow as tf

    rid, _ = replica_info()
    s = tf.cast(seed_generator.next(), tf.int64)
    s = s + tf.stack([tf.cast(rid, tf.int64) * 1_000_003, tf.constant(0, tf.int64)])
    return tf.cast(tf.math.floormod(s, 2**31 - 1), tf.int32)


def draw_inputs(seed_generator, batch, settings):
    """(generator input z [+ codes], categorical codes, continuous codes, fake labels) for `batch`
    fakes; codes and labels are None where `settings` (a GanSettings) has none."""
    s = settings
    z = rng.normal((batch, s.latent_dim), next_seed(seed_generator))
    parts, cat, cont = [z], None, None
    if s.info_categorical > 0:
        idx = rng.uniform((batch,), next_seed(seed_generator), 0, s.info_categorical, dtype="int32")
        cat = ops.one_hot(idx, s.info_categorical, dtype="float32")
        parts.append(cat)
    if s.info_continuous > 0:
        cont = rng.uniform((batch, s.info_continuous), next_seed(seed_generator), -1.0, 1.0)
        parts.append(cont)
    zc = ops.concatenate(parts, axis=1) if len(parts) > 1 else z
    labels = None
    if s.conditional:
        labels = rng.uniform((batch, 1), next_seed(seed_generator), 0, s.num_classes, dtype="int32")
    return zc, cat, cont, labels


def draw_alpha(seed_generator, batch):
    """WGAN-GP's interpolation weights, (batch, 1, 1, 1) uniform [0, 1)."""
    return rng.uniform((batch, 1, 1, 1), next_seed(seed_generator))
