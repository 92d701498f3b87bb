"""DCGAN baseline (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with
Deep Convolutional GANs"): the all-convolutional architecture, sized like the proposed models.

Generator:
    z (latent_dim,) -> Reshape (1, 1, latent_dim)
    -> Conv2DTranspose(w0, k=start_res, stride 1, valid) = the "project" step, a 1x1 -> 4x4
       fractional convolution (no Dense layer) + BatchNorm + ReLU
    -> [Conv2DTranspose(w, 4, stride 2) + BatchNorm + ReLU] ... -> Conv2DTranspose(1, 4, stride 2) -> tanh
Discriminator:
    image -> Conv2D(w, 4, stride 2) + LeakyReLU(0.2)                      (no BatchNorm on the first layer)
    -> [Conv2D(w, 4, stride 2) + BatchNorm + LeakyReLU(0.2)] ... down to start_res x start_res
    -> Conv2D(1, k=start_res, valid) -> 1x1 logit                         (no pooling, no Dense)

Radford et al.'s guidelines followed: strided convolutions instead of pooling, BatchNorm in
both nets except G's output and D's input layer, ReLU in G with tanh output, LeakyReLU(0.2)
in D, weights from N(0, 0.02). Widths come from the same config keys and schedules as the
proposed models (`g_width`/`g_min_width`, `d_width`/`d_max_width`, `start_res`), so the
comparison differs in architecture, not in capacity.

How it differs from the proposed GAN (`generator.py` / `discriminator.py`): the proposed G
projects z with a Dense layer, DCGAN with a transposed convolution from 1x1 (for a 1x1 input
this computes the same family of maps, but it is the fully convolutional formulation); the
proposed D has no BatchNorm, wraps every layer in SpectralNormalization and ends in
Flatten -> Dense, while DCGAN's D uses BatchNorm (after the first layer), no spectral norm,
and a final convolution to the logit. Note: D's BatchNorm means real and fake batches should
go through D separately (as in Radford et al.'s code), not concatenated.

Conditional (num_classes > 0; one G and one D for every class), after Miyato & Koyama 2018:
- G: each BatchNorm is class-conditional: normalized (no affine of its own), then scaled and
  shifted by the label's rows of two embeddings, gamma (initialised to 1) and beta (to 0);
- D: a projection discriminator, logit = psi(phi(x)) + <Embedding(y), phi(x)>, phi(x) the last
  feature volume flattened and psi the final convolution (`discriminator.add_projection`).
"""

from __future__ import annotations

from mri_gan.models.discriminator import add_projection, discriminator_widths
from mri_gan.models.generator import generator_widths


def _init():
    import keras

    return keras.initializers.RandomNormal(0.0, 0.02)  # Radford et al. 2016, section 4


def _batchnorm(h, label, num_classes: int, name: str):
    """BatchNorm of G; with a `label` input class-conditional: gamma(y) * normalized(h) + beta(y)."""
    from keras import layers

    if label is None:
        return layers.BatchNormalization(name=name)(h)
    c = int(h.shape[-1])
    h = layers.BatchNormalization(center=False, scale=False, name=name)(h)
    gamma = layers.Embedding(num_classes, c, embeddings_initializer="ones", name=f"{name}_gamma")(label)
    beta = layers.Embedding(num_classes, c, embeddings_initializer="zeros", name=f"{name}_beta")(label)
    gamma = layers.Reshape((1, 1, c), name=f"{name}_gamma_map")(gamma)
    beta = layers.Reshape((1, 1, c), name=f"{name}_beta_map")(beta)
    h = layers.Multiply(name=f"{name}_scale")([h, gamma])
    return layers.Add(name=f"{name}_shift")([h, beta])


def build_dcgan_generator(gan_cfg, image_size: int, num_classes: int = 0, name: str = "dcgan_generator",
                          input_dim: int | None = None):
    """DCGAN generator: z (input_dim or gan.latent_dim,) [+ int label (1,), class-conditional
    BatchNorm] -> (S, S, 1) tanh (float32)."""
    import keras
    from keras import layers

    widths = generator_widths(gan_cfg, image_size)  # validates the size
    s0 = gan_cfg.start_res
    zdim = int(input_dim or gan_cfg.latent_dim)
    z_in = keras.Input((zdim,), name="z")
    y_in = keras.Input((1,), dtype="int32", name="label") if num_classes > 0 else None
    h = layers.Reshape((1, 1, zdim), name="z_as_volume")(z_in)
    h = layers.Conv2DTranspose(widths[0], s0, strides=1, padding="valid", use_bias=False,
                               kernel_initializer=_init(), name="project")(h)
    h = _batchnorm(h, y_in, num_classes, "project_bn")
    h = layers.ReLU(name="project_relu")(h)
    for i, w in enumerate(widths[1:], start=1):
        h = layers.Conv2DTranspose(w, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=_init(), name=f"up{i}")(h)
        h = _batchnorm(h, y_in, num_classes, f"up{i}_bn")
        h = layers.ReLU(name=f"up{i}_relu")(h)
    h = layers.Conv2DTranspose(1, 4, strides=2, padding="same", kernel_initializer=_init(), name="to_image")(h)
    out = layers.Activation("tanh", dtype="float32", name="image")(h)
    return keras.Model([z_in, y_in] if y_in is not None else z_in, out, name=name)


def build_dcgan_discriminator(gan_cfg, image_size: int, num_classes: int = 0, name: str = "dcgan_discriminator"):
    """DCGAN discriminator: image (S, S, 1) [+ int label (1,): projection] -> logit (B, 1) float32."""
    import keras
    from keras import layers

    widths = discriminator_widths(gan_cfg, image_size)  # validates the size
    s0 = gan_cfg.start_res
    x_in = keras.Input((image_size, image_size, 1), name="image")
    h = x_in
    for i, w in enumerate(widths, start=1):
        first = i == 1
        h = layers.Conv2D(w, 4, strides=2, padding="same", use_bias=first,
                          kernel_initializer=_init(), name=f"down{i}_conv")(h)
        if not first:
            h = layers.BatchNormalization(name=f"down{i}_bn")(h)
        h = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(h)
    features = h  # (s0, s0, C)
    h = layers.Conv2D(1, s0, strides=1, padding="valid", kernel_initializer=_init(), name="logit_conv")(h)  # (1, 1, 1)
    logit = layers.Reshape((1,), name="logit_flat")(h)
    if num_classes > 0:
        y_in, logit = add_projection(logit, layers.Flatten(name="features_flat")(features), num_classes)
        out = layers.Activation("linear", dtype="float32", name="logit")(logit)
        return keras.Model([x_in, y_in], out, name=name)
    out = layers.Activation("linear", dtype="float32", name="logit")(logit)
    return keras.Model(x_in, out, name=name)
