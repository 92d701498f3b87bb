"""Custom Keras layers of the models (imported only when a model is built: keras is slow to import).

Written in `keras.ops`, so the same layers (and the same `.keras` files) serve every backend.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mri_gan")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one channel: the mean (over features) std of each group of `group_size`
    consecutive images, broadcast over H x W. A batch that is not a multiple of the group size
    is one group."""

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        n = ops.shape(x)[0]
        if isinstance(n, int):  # static batch (JAX, or a traced TF step)
            g = min(self.group_size, n)
            g = g if n % g == 0 else n
        else:  # symbolic batch (TF functional build)
            g = ops.minimum(self.group_size, n)
            g = ops.where(ops.equal(ops.mod(n, g), 0), g, n)
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        y = ops.reshape(ops.cast(x, "float32"), [-1, g, h, w, c])  # (n / g, g, H, W, C)
        y = ops.sqrt(ops.var(y, axis=1) + 1e-8)  # (n / g, H, W, C)
        y = ops.mean(y, axis=[1, 2, 3])  # (n / g,)
        y = ops.repeat(y, g)  # back to one value per image, same order
        y = ops.tile(ops.reshape(y, [-1, 1, 1, 1]), [1, h, w, 1])
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
