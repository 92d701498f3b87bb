"""The proposed generator (paper Table I) as one functional Keras model.

    z (latent_dim) [+ Embedding(label) when conditional]
    -> Dense(start_res * start_res * g_width) + BatchNorm + ReLU -> Reshape(start_res, start_res, g_width)
    -> [Conv2DTranspose(w, 4, stride 2) + BatchNorm + ReLU] x (log2(S / start_res) - 1), w halving,
       never below g_min_width
    -> Conv2DTranspose(1, 4, stride 2) -> tanh (float32 even under mixed precision)

Sized by config (`gan.latent_dim`, `start_res`, `g_width`, `g_min_width`); any power-of-two image
size from 2 * start_res up (16 to 512 in the tests). The conditional generator embeds the class
label into a `latent_dim`-sized vector and concatenates it to z (Mirza & Osindero 2014).
"""

from __future__ import annotations

import math

from mri_gan.errors import MriGanError


def check_size(image_size: int, start_res: int) -> int:
    """Number of stride-2 stages from `start_res` to `image_size` (both powers of two)."""
    if image_size < 2 * start_res or image_size & (image_size - 1) or start_res & (start_res - 1):
        raise MriGanError(
            f"GAN image size must be a power of two >= 2 * gan.start_res ({2 * start_res}), got {image_size}"
        )
    return int(math.log2(image_size // start_res))


def generator_widths(gan_cfg, image_size: int) -> list[int]:
    """Channels after the Dense volume and each hidden upsampling block (the last block outputs 1)."""
    n_up = check_size(image_size, gan_cfg.start_res)
    return [max(gan_cfg.g_width // (2**i), gan_cfg.g_min_width) for i in range(n_up)]


def build_generator(gan_cfg, image_size: int, num_classes: int = 0, name: str = "generator",
                    input_dim: int | None = None):
    """Generator: inputs z (input_dim or gan.latent_dim,) [+ int label (1,)] -> (S, S, 1) tanh.

    `input_dim` lets InfoGAN widen the latent input by its codes (latent_dim + categorical +
    continuous) without a second builder.
    """
    import keras
    from keras import layers

    widths = generator_widths(gan_cfg, image_size)
    s0 = gan_cfg.start_res
    zdim = int(input_dim or gan_cfg.latent_dim)
    z_in = keras.Input((zdim,), name="z")
    inputs = [z_in]
    h = z_in
    if num_classes > 0:
        y_in = keras.Input((1,), dtype="int32", name="label")
        inputs.append(y_in)
        e = layers.Embedding(num_classes, gan_cfg.latent_dim, name="label_embedding")(y_in)
        e = layers.Flatten(name="label_flat")(e)
        h = layers.Concatenate(name="z_label")([z_in, e])
    h = layers.Dense(s0 * s0 * widths[0], use_bias=False, name="project")(h)
    h = layers.BatchNormalization(name="project_bn")(h)
    h = layers.ReLU(name="project_relu")(h)
    h = layers.Reshape((s0, s0, widths[0]), name="volume")(h)
    for i, w in enumerate(widths[1:], start=1):
        h = layers.Conv2DTranspose(w, 4, strides=2, padding="same", use_bias=False, name=f"up{i}")(h)
        h = layers.BatchNormalization(name=f"up{i}_bn")(h)
        h = layers.ReLU(name=f"up{i}_relu")(h)
    h = layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="to_image")(h)
    out = layers.Activation("tanh", dtype="float32", name="image")(h)
    return keras.Model(inputs if len(inputs) > 1 else z_in, out, name=name)
