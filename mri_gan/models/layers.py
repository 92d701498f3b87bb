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


_FROZEN_MOMENTS = [False]


class frozen_batch_moments:
    """Scope in which every `PenaltyBatchNorm` holds its batch mean and variance constant for the
    gradient (trace-time flag: enter it around the discriminator call a penalty differentiates).

    With BatchNorm in training mode, D's output for one image depends on every image of its batch
    through the batch moments, so the input gradient of a gradient penalty (R1, WGAN-GP) mixes
    in the other images (DCGAN's D at init: ||dD(x_0)/dx_{1..31}|| = 0.14 beside
    ||dD(x_0)/dx_0|| = 2.07, batch 32). Holding the moments constant makes each logit a function
    of its own image only (a per-image affine map with this batch's statistics), so the penalty is
    the per-image one the papers define, taken on the same normalisation the loss uses. The price:
    the penalty's gradient w.r.t. D's weights ignores the path through the moments."""

    def __enter__(self):
        self._was = _FROZEN_MOMENTS[0]
        _FROZEN_MOMENTS[0] = True
        return self

    def __exit__(self, *exc):
        _FROZEN_MOMENTS[0] = self._was
        return False


@keras.saving.register_keras_serializable(package="mri_gan")
class PenaltyBatchNorm(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose batch moments become constants for the gradient
    inside `frozen_batch_moments()`; identical to it everywhere else (same weights, same config)."""

    def _moments(self, inputs, mask):
        mean, variance = super()._moments(inputs, mask)
        if _FROZEN_MOMENTS[0]:
            return ops.stop_gradient(mean), ops.stop_gradient(variance)
        return mean, variance


def _l2n(v):
    return v / ops.sqrt(ops.sum(ops.square(v)) + 1e-12)


@keras.saving.register_keras_serializable(package="mri_gan")
class SNReparam(keras.layers.Layer):
    """Spectral normalization as Miyato et al. (2018) define it: a reparameterisation.

    The trainable variable is the raw kernel W; every call uses W / sigma(W), sigma estimated by
    one power iteration per training call (u, v held fixed for the gradient, as in the paper's
    Algorithm 1), and the gradient flows through sigma. Keras' `SpectralNormalization` instead
    overwrites the kernel variable with W / sigma at each training call and lets no gradient
    through sigma: a projection after each optimizer step (KERAS-NOTES; issue "Synthetic MRI
    worth using"). Wraps a Conv2D or Dense layer, whose own kernel becomes W.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        k = self.layer.kernel
        self.u = self.add_weight(shape=(1, k.shape[-1]), initializer=keras.initializers.TruncatedNormal(stddev=1.0),
                                 trainable=False, name="vector_u", dtype="float32")

    def call(self, x, training=False):
        lay = self.layer
        w = ops.cast(lay.kernel, "float32")
        w2 = ops.reshape(w, [-1, w.shape[-1]])
        u = ops.convert_to_tensor(self.u)
        v = _l2n(ops.matmul(u, ops.transpose(w2)))
        u_new = _l2n(ops.matmul(v, w2))
        if training:
            self.u.assign(u_new)
        u_new, v = ops.stop_gradient(u_new), ops.stop_gradient(v)
        sigma = ops.reshape(ops.matmul(ops.matmul(v, w2), ops.transpose(u_new)), [])
        w_sn = ops.cast(w / sigma, x.dtype)
        if isinstance(lay, keras.layers.Conv2D):
            y = ops.conv(x, w_sn, strides=lay.strides, padding=lay.padding)
        else:
            y = ops.matmul(x, w_sn)
        if lay.use_bias:
            y = y + ops.cast(lay.bias, x.dtype)
        return y

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)
