"""Custom Keras layers of the models (imported only when a model is built: keras is slow to import)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mri_gan")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one channel: the mean (over features) std of each group of `group_size`
    consecutive images, broadcast over H x W. A batch that is not a multiple of the group size
    is one group."""

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        n = tf.shape(x)[0]
        g = tf.minimum(self.group_size, n)
        g = tf.where(tf.equal(tf.math.floormod(n, g), 0), g, n)
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        y = tf.reshape(tf.cast(x, tf.float32), [-1, g, h, w, c])  # (n / g, g, H, W, C)
        y = tf.sqrt(tf.math.reduce_variance(y, axis=1) + 1e-8)  # (n / g, H, W, C)
        y = tf.reduce_mean(y, axis=[1, 2, 3])  # (n / g,)
        y = tf.repeat(y, g)  # back to one value per image, same order
        y = tf.tile(tf.reshape(y, [-1, 1, 1, 1]), [1, h, w, 1])
        return tf.concat([x, tf.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
