"""InfoGAN discriminator (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by
Information Maximizing GANs"): one trunk shared by D's logit head and the Q head.

    image (S, S, 1)
    -> trunk: [SpectralNormalization(Conv2D(w, 4, stride 2)) + LeakyReLU(0.2)] ... -> Flatten
                                                             (the proposed discriminator's layers)
    -> D head: SN(Dense(1))                                  -> logit (B, 1)
    -> Q head: Dense(128) + LeakyReLU(0.2) -> Dense(info_categorical) -> categorical logits
                                           -> Dense(info_continuous)  -> continuous-code means

The generator is the proposed one (`build_generator(..., input_dim=latent_dim +
info_categorical + info_continuous)`). Q shares every convolution with D, as in the paper,
so the information term costs one small extra head. Q is not spectrally normalised (it is
a regression/classification head, not a critic) and, like D, has no BatchNorm, so real and
fake images may share one batch. Continuous codes are uniform(-1, 1); Q predicts their means
(see `mri_gan.gans.losses.mutual_information_penalty`: unit-variance Gaussian).
"""

from __future__ import annotations

from mri_gan.errors import MriGanError
from mri_gan.models.discriminator import discriminator_trunk

Q_HIDDEN = 128  # units of the Q head's hidden layer (Chen et al. 2016 use a 128-unit FC layer)


def build_info_discriminator(gan_cfg, image_size: int, name: str = "info_discriminator"):
    """InfoGAN D: image (S, S, 1) -> [logit (B, 1), q_cat_logits (B, info_categorical),
    q_cont (B, info_continuous)], all float32. A code of size 0 gives a (B, 0) output."""
    import keras
    from keras import layers

    n_cat, n_cont = int(gan_cfg.info_categorical), int(gan_cfg.info_continuous)
    if n_cat < 0 or n_cont < 0 or n_cat + n_cont == 0:
        raise MriGanError(
            f"InfoGAN needs at least one latent code: gan.info_categorical={n_cat}, gan.info_continuous={n_cont}"
        )
    x_in = keras.Input((image_size, image_size, 1), name="image")
    feat, wrap = discriminator_trunk(gan_cfg, image_size, x_in)
    logit = wrap(layers.Dense(1, name="logit_dense"), "logit_sn")(feat)
    logit = layers.Activation("linear", dtype="float32", name="logit")(logit)

    q = layers.Dense(Q_HIDDEN, name="q_hidden")(feat)
    q = layers.LeakyReLU(0.2, name="q_lrelu")(q)
    outs = [logit]
    for size, head in ((n_cat, "q_cat"), (n_cont, "q_cont")):
        if size > 0:
            o = layers.Dense(size, name=f"{head}_dense")(q)
        else:  # keep the 3-output contract: an empty (B, 0) tensor (a slice op, no Lambda: safe_mode loads it)
            o = q[:, :0]
        outs.append(layers.Activation("linear", dtype="float32", name=head)(o))
    return keras.Model(x_in, outs, name=name)
