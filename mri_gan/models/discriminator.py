"""The proposed discriminator (paper Table I) as one functional Keras model.

    image (S, S, 1)
    -> [SpectralNormalization(Conv2D(w, 4, stride 2)) + LeakyReLU(0.2)] x log2(S / start_res),
       w doubling from d_width, never above d_max_width
    [-> minibatch standard deviation, one extra channel (gan.minibatch_std > 0)]
    -> Flatten -> SN(Dense(1)) = one logit (float32)

The minibatch-stddev channel (Karras et al. 2018, "Progressive Growing of GANs", sec. 3) gives D
the spread of features over a small group of images, so a generator that maps every z to the
same image is penalised: on the real glioma images at 64 px after 20 epochs it lowered FID from
46.5 to 32.9 and MS-SSIM within the fakes from 0.93 to 0.82, but did not end the collapse (recall 0;
docs/history.md, "The proposed GAN at 64 px").
Groups are *consecutive* images, so [real; fake] in one call never share a group.

No BatchNorm, so real and fake images can go through D in one concatenated batch (one
spectral-norm power iteration per call) and WGAN-GP's per-image gradient penalty is valid.
`gan.spectral_norm: false` drops the wrappers (WGAN-GP's critic).

Conditional (num_classes > 0): projection discriminator (Miyato & Koyama 2018):
logit = psi(phi(x)) + <Embedding(y), phi(x)>, phi(x) the flattened features (`add_projection`,
also the conditional DCGAN discriminator's).
"""

from __future__ import annotations

from mri_gan.models.generator import check_size


def discriminator_widths(gan_cfg, image_size: int) -> list[int]:
    n_down = check_size(image_size, gan_cfg.start_res)
    return [min(gan_cfg.d_width * (2**i), gan_cfg.d_max_width) for i in range(n_down)]


def discriminator_trunk(gan_cfg, image_size: int, h):
    """The layers up to (not including) the logit, applied to tensor h -> (features, wrap).

    Shared by `build_discriminator` and InfoGAN's D/Q trunk; `wrap(layer, name)` puts a layer in
    `SpectralNormalization` when `gan.spectral_norm` is on.
    """
    from keras import layers

    sn = bool(gan_cfg.spectral_norm)

    def wrap(layer, name):
        return layers.SpectralNormalization(layer, name=name) if sn else layer

    for i, w in enumerate(discriminator_widths(gan_cfg, image_size), start=1):
        h = wrap(layers.Conv2D(w, 4, strides=2, padding="same", name=f"down{i}_conv"), f"down{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(h)
    if gan_cfg.minibatch_std > 0:
        from mri_gan.models.layers import MinibatchStdDev

        h = MinibatchStdDev(gan_cfg.minibatch_std, name="minibatch_std")(h)
    h = layers.Flatten(name="flatten")(h)
    return h, wrap


def build_discriminator(gan_cfg, image_size: int, num_classes: int = 0, name: str = "discriminator"):
    """Discriminator: inputs image (S, S, gan.pack) [+ int label (1,)] -> logit (B, 1) float32.
    gan.pack > 1 (PacGAN): `pack` images stacked as channels, one logit per pack."""
    import keras
    from keras import layers

    pack = 1 if num_classes > 0 else max(1, int(getattr(gan_cfg, "pack", 1)))  # a projection D scores single images
    x_in = keras.Input((image_size, image_size, pack), name="image")
    h, wrap = discriminator_trunk(gan_cfg, image_size, x_in)
    logit = wrap(layers.Dense(1, name="logit_dense"), "logit_sn")(h)
    if num_classes > 0:
        y_in, logit = add_projection(logit, h, num_classes)
        out = layers.Activation("linear", dtype="float32", name="logit")(logit)
        return keras.Model([x_in, y_in], out, name=name)
    out = layers.Activation("linear", dtype="float32", name="logit")(logit)
    return keras.Model(x_in, out, name=name)


def add_projection(logit, features, num_classes: int):
    """The class term of a projection discriminator (Miyato & Koyama 2018): a new int label input
    y (B, 1) and `logit` + <Embedding(y), features>, `features` phi(x) flat (B, F). The term is
    a plain inner product, whatever normalization (spectral norm, BatchNorm) produced phi(x).
    Returns (label input, logit)."""
    import keras
    from keras import layers

    y_in = keras.Input((1,), dtype="int32", name="label")
    e = layers.Embedding(num_classes, int(features.shape[-1]), name="label_embedding")(y_in)
    e = layers.Flatten(name="label_flat")(e)
    proj = layers.Dot(axes=1, name="projection")([e, features])
    return y_in, layers.Add(name="logit_proj")([logit, proj])
