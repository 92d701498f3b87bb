"""`build_gan(cfg, image_size, num_classes)`: the models, loss and optimizers of each `gan.kind`.

| kind     | generator                     | discriminator                          | loss    | n_critic |
|----------|-------------------------------|----------------------------------------|---------|----------|
| proposed | Table I (Dense -> ConvT + BN)  | Table I (SN conv + LeakyReLU -> Dense)  | bce     | 1        |
| dcgan    | Radford et al. all-conv       | Radford et al. (BN, no SN)             | bce     | 1        |
| lsgan    | Table I                       | Table I                                | lsgan   | 1        |
| wgan_gp  | Table I                       | Table I without spectral norm (critic) | wgan_gp | 5        |
| infogan  | Table I, z + codes            | Table I trunk + Q head                 | bce+MI  | 1        |

`gan.loss` overrides the kind's loss (e.g. hinge); `gan.n_critic` > 0 overrides n_critic.
Conditional (`gan.conditional`) works with the Table I backbones (proposed, lsgan, wgan_gp).
Call inside `strategy.scope()`: every variable is created here.
"""

from __future__ import annotations

import dataclasses

from mri_gan.errors import MriGanError

KIND_LOSS = {"proposed": "bce", "dcgan": "bce", "lsgan": "lsgan", "wgan_gp": "wgan_gp", "infogan": "bce"}
KINDS = tuple(KIND_LOSS)  # every gan.kind: the one list (compare, the CLI and the tables read it)
KIND_NAMES = {"proposed": "Proposed", "dcgan": "DCGAN", "lsgan": "LSGAN", "wgan_gp": "WGAN-GP", "infogan": "InfoGAN"}
CONDITIONAL_KINDS = ("proposed", "lsgan", "wgan_gp")


def resolve_kind(gan_cfg, num_classes: int = 0) -> tuple[str, str, int]:
    """(kind, loss name, n_critic) after defaults; one-line errors for bad combinations."""
    from mri_gan.gans.losses import LOSSES

    kind = gan_cfg.kind
    if kind not in KIND_LOSS:
        raise MriGanError(f"unknown gan.kind {kind!r} (choose from {', '.join(KIND_LOSS)})")
    loss = gan_cfg.loss or KIND_LOSS[kind]
    if loss not in LOSSES:
        raise MriGanError(f"unknown gan.loss {loss!r} (choose from {', '.join(LOSSES)})")
    if num_classes > 0 and kind not in CONDITIONAL_KINDS:
        raise MriGanError(
            f"gan.conditional works with kinds {', '.join(CONDITIONAL_KINDS)}, not {kind!r} "
            "(for the paper's Table I GAN: -s gan.kind=proposed)"
        )
    if gan_cfg.pack < 1:
        raise MriGanError(f"gan.pack must be >= 1, got {gan_cfg.pack}")
    if gan_cfg.r1_every < 1:
        raise MriGanError(f"gan.r1_every must be >= 1, got {gan_cfg.r1_every}")
    if gan_cfg.r1_bn_moments not in ("live", "frozen"):
        raise MriGanError(f"gan.r1_bn_moments must be live or frozen, got {gan_cfg.r1_bn_moments!r}")
    if gan_cfg.n_critic < 0:
        raise MriGanError(f"gan.n_critic must be >= 0, got {gan_cfg.n_critic}")
    n_critic = gan_cfg.n_critic or (5 if kind == "wgan_gp" else 1)
    return kind, loss, n_critic


def packable(kind: str, num_classes: int = 0) -> bool:
    """PacGAN packing (gan.pack) applies to the unconditional Table I discriminators; DCGAN's
    BatchNorm D, InfoGAN's Q head and the conditional projection D always score single images."""
    return kind in ("proposed", "lsgan", "wgan_gp") and num_classes == 0


def discriminator_config(gan_cfg, num_classes: int = 0):
    """The gan config D is built from. Gradient penalties (WGAN-GP's, R1) are per-image penalties:
    with the minibatch-stddev channel D's output for one image depends on the other images of
    its group (d out_0 / d x_1 != 0), so a penalised D is built without the channel. WGAN-GP's
    critic also drops spectral norm (Gulrajani et al.: the penalty replaces it)."""
    kind, loss, _ = resolve_kind(gan_cfg, num_classes)
    changes = {}
    if gan_cfg.pack > 1 and not packable(kind, num_classes):
        changes["pack"] = 1
    if loss == "wgan_gp" or r1_gamma(gan_cfg, loss) > 0:
        changes["minibatch_std"] = 0
    if kind == "wgan_gp":
        changes["spectral_norm"] = False
    return dataclasses.replace(gan_cfg, **changes) if changes else gan_cfg


def r1_gamma(gan_cfg, loss: str) -> float:
    """The R1 weight a GAN trains with: `gan.r1_gamma`, except for a wgan_gp loss (its gradient
    penalty already constrains the critic's slope; R1 on top would penalise it twice)."""
    return 0.0 if loss == "wgan_gp" else float(gan_cfg.r1_gamma)


def build_models(gan_cfg, image_size: int, num_classes: int = 0):
    """(generator, discriminator) of `gan_cfg.kind`."""
    from mri_gan.models.discriminator import build_discriminator
    from mri_gan.models.generator import build_generator

    kind, _, _ = resolve_kind(gan_cfg, num_classes)
    d_cfg = discriminator_config(gan_cfg, num_classes)
    if kind == "dcgan":
        from mri_gan.models.dcgan import build_dcgan_discriminator, build_dcgan_generator

        return (build_dcgan_generator(gan_cfg, image_size, name="generator"),
                build_dcgan_discriminator(gan_cfg, image_size, name="discriminator"))
    if kind == "infogan":
        from mri_gan.models.infogan import build_info_discriminator

        zdim = gan_cfg.latent_dim + gan_cfg.info_categorical + gan_cfg.info_continuous
        return (build_generator(gan_cfg, image_size, input_dim=zdim, name="generator"),
                build_info_discriminator(d_cfg, image_size, name="discriminator"))
    return (build_generator(gan_cfg, image_size, num_classes, name="generator"),
            build_discriminator(d_cfg, image_size, num_classes, name="discriminator"))


def build_generator_only(gan_cfg, image_size: int, num_classes: int = 0):
    """The generator of `gan_cfg.kind` alone (for synthesize/export from a checkpoint)."""
    from mri_gan.models.generator import build_generator

    kind, _, _ = resolve_kind(gan_cfg, num_classes)
    if kind == "dcgan":
        from mri_gan.models.dcgan import build_dcgan_generator

        return build_dcgan_generator(gan_cfg, image_size, name="generator")
    zdim = gan_cfg.latent_dim + (gan_cfg.info_categorical + gan_cfg.info_continuous if kind == "infogan" else 0)
    return build_generator(gan_cfg, image_size, num_classes, name="generator", input_dim=zdim)


def make_optimizer(lr: float, train_cfg, total_steps: int = 0):
    """Adam at `lr`, decayed over `total_steps` optimizer steps by `train.lr_decay` (0 = no decay)."""
    import keras

    from mri_gan.gans.lr_schedule import learning_rate

    lr = learning_rate(lr, train_cfg.lr_decay, train_cfg.lr_decay_start, total_steps)
    opt = keras.optimizers.Adam(lr, beta_1=train_cfg.beta_1, beta_2=train_cfg.beta_2)
    if train_cfg.precision == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def _use_jit(t) -> bool:
    """`train.jit_compile` where it applies: the TensorFlow backend with one replica (XLA inside
    MirroredStrategy's cross-replica gradient sums is not supported on CPU; JAX always jits)."""
    import keras

    if not t.jit_compile or keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync == 1


def build_gan(cfg, image_size: int, num_classes: int = 0, total_steps: int = 0):
    """A compiled, fully built `GAN` for `cfg.gan.kind` (num_classes > 0: conditional); `total_steps`
    = the run's generator steps, over which `train.lr_decay` decays both learning rates (the
    discriminator's over its n_critic x as many)."""
    from mri_gan.gans.gan import GAN
    from mri_gan.backend import set_random_seed

    kind, loss, n_critic = resolve_kind(cfg.gan, num_classes)
    set_random_seed(cfg.train.seed)  # weight init is part of the run's seed
    generator, discriminator = build_models(cfg.gan, image_size, num_classes)
    info = kind == "infogan"
    t = cfg.train
    if t.diffaugment_per not in ("image", "group"):
        raise MriGanError(f"train.diffaugment_per must be image or group, got {t.diffaugment_per!r}")
    d_cfg = discriminator_config(cfg.gan, num_classes)
    group = d_cfg.pack * max(1, d_cfg.minibatch_std) if t.diffaugment_per == "group" else 1
    gan = GAN(generator, discriminator, latent_dim=cfg.gan.latent_dim, num_classes=num_classes,
              info_categorical=cfg.gan.info_categorical if info else 0,
              info_continuous=cfg.gan.info_continuous if info else 0,
              info_weight=cfg.gan.info_weight, n_critic=n_critic,
              gp_weight=cfg.gan.gp_weight if loss == "wgan_gp" else 0.0,
              diffaugment=t.diffaugment, ada=t.ada, ada_target=t.ada_target, ada_interval=t.ada_interval,
              ada_speed=t.ada_speed, ema=t.ema, r1_gamma=r1_gamma(cfg.gan, loss),
              r1_every=cfg.gan.r1_every, frozen_bn_moments=cfg.gan.r1_bn_moments == "frozen",
              pack=d_cfg.pack,
              reuse_fakes=t.reuse_fakes, augment_group=group, seed=t.seed, jit=_use_jit(t),
              name=f"gan_{kind}")
    # jit_compile=False: Keras' "auto" would XLA-compile the whole step on a GPU, R1's nested
    # gradient included; `train.jit_compile` compiles the steps without R1 instead (GAN.jit)
    gan.compile(d_optimizer=make_optimizer(t.d_lr, t, total_steps * n_critic),
                g_optimizer=make_optimizer(t.g_lr, t, total_steps), loss=loss,
                steps_per_execution=max(1, t.steps_per_execution), jit_compile=False)
    gan.build_all()
    return gan
