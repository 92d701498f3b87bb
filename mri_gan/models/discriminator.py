"""The proposed discriminator (paper Table I) as one functional Keras model.

    image (S, S, 1)
    -> [SpectralNormalization(Conv2D(w, 4, stride 2)) + LeakyReLU(0.2)] x log2(S / start_res),
       w doubling from d_width, never above d_max_width
    [-> minibatch standard deviation, one extra channel (gan.minibatch_std > 0)]
    -> Flatten [-> SN(Dense(d_dense)) + LeakyReLU(0.2)] -> SN(Dense(1)) = one logit (float32)

The minibatch-stddev channel (Karras et al. 2018, "Progressive Growing of GANs", sec. 3) gives D
the spread of features over a small group of images, so a generator that maps every z to the
same image is caught: measured on the real glioma images at 64 px, Table I alone collapses to one
image within 20 epochs; with this channel it does not (README, "GAN on the real data").
Groups are *consecutive* images, so [real; fake] in one call never share a group.

No BatchNorm, so real and fake images can go through D in one concatenated batch (one
spectral-norm power iteration per call) and WGAN-GP's per-image gradient penalty is valid.
`gan.spectral_norm: false` drops the wrappers (WGAN-GP's critic).

Conditional (num_classes > 0): projection discriminator (Miyato & Koyama 2018):
logit = psi(phi(x)) + <Embedding(y), phi(x)>, phi(x) the flattened (or dense) features.
"""

from __future__ import annotations

import keras

from mri_gan.models.generator import check_size


@keras.saving.register_keras_serializable(package="mri_gan")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one channel: the mean (over features) std of each group of `group_size`
    consecutive images, broadcast over H x W. A batch that is not a multiple of the group size
    is one group."""

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        import tensorflow as tf

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


def discriminator_widths(gan_cfg, image_size: int) -> list[int]:
    n_down = check_size(image_size, gan_cfg.start_res)
    return [min(gan_cfg.d_width * (2**i), gan_cfg.d_max_width) for i in range(n_down)]


def _sn(layer, on: bool, name: str):
    from keras import layers

    return layers.SpectralNormalization(layer, name=name) if on else layer


def build_discriminator(gan_cfg, image_size: int, num_classes: int = 0, name: str = "discriminator"):
    """Discriminator: inputs image (S, S, 1) [+ int label (1,)] -> logit (B, 1) float32."""
    from keras import layers

    sn = bool(gan_cfg.spectral_norm)
    x_in = keras.Input((image_size, image_size, 1), name="image")
    h = x_in
    for i, w in enumerate(discriminator_widths(gan_cfg, image_size), start=1):
        conv = layers.Conv2D(w, 4, strides=2, padding="same", name=f"down{i}_conv")
        h = _sn(conv, sn, f"down{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(h)
    if gan_cfg.minibatch_std > 0:
        h = MinibatchStdDev(gan_cfg.minibatch_std, name="minibatch_std")(h)
    h = layers.Flatten(name="flatten")(h)
    if gan_cfg.d_dense > 0:
        h = _sn(layers.Dense(gan_cfg.d_dense, name="hidden_dense"), sn, "hidden")(h)
        h = layers.LeakyReLU(0.2, name="hidden_lrelu")(h)
    logit = _sn(layers.Dense(1, name="logit_dense"), sn, "logit_sn")(h)
    if num_classes > 0:
        y_in = keras.Input((1,), dtype="int32", name="label")
        feat_dim = int(h.shape[-1])
        e = layers.Embedding(num_classes, feat_dim, name="label_embedding")(y_in)
        e = layers.Flatten(name="label_flat")(e)
        proj = layers.Dot(axes=1, name="projection")([e, h])
        logit = layers.Add(name="logit_proj")([logit, proj])
        out = layers.Activation("linear", dtype="float32", name="logit")(logit)
        return keras.Model([x_in, y_in], out, name=name)
    out = layers.Activation("linear", dtype="float32", name="logit")(logit)
    return keras.Model(x_in, out, name=name)
