"""`build_gan(cfg, image_size, num_classes)`: the models, loss and optimizers of each `gan.kind`.

| kind     | generator                     | discriminator                          | loss    | n_critic |
|----------|-------------------------------|----------------------------------------|---------|----------|
| proposed | Table I (Dense -> ConvT + BN)  | Table I (SN conv + LeakyReLU -> Dense)  | bce     | 1        |
| dcgan    | Radford et al. all-conv       | Radford et al. (BN, no SN)             | bce     | 1        |
| lsgan    | Table I                       | Table I                                | lsgan   | 1        |
| wgan_gp  | Table I                       | Table I without spectral norm (critic) | wgan_gp | 5        |
| infogan  | Table I, z + codes            | Table I trunk + Q head                 | bce+MI  | 1        |

`gan.loss` overrides the kind's loss (e.g. hinge); `gan.n_critic` > 0 overrides n_critic.
Conditional (`gan.conditional`) works with every kind but infogan: one G and one D for all classes,
a projection D (Miyato & Koyama 2018) and, in G, class-conditional BatchNorm (dcgan) or a label
embedding concatenated to z (the Table I kinds).
`effective_config` resolves the kind once: the config a run trains with, each key at the value
training uses (what `fit` saves as RUN/config.yaml). Call `build_gan` inside `strategy.scope()`:
every variable is created there.
"""

from __future__ import annotations

import dataclasses

from mri_gan.errors import MriGanError
from mri_gan.precision import resolve_jit

KIND_LOSS = {"proposed": "bce", "dcgan": "bce", "lsgan": "lsgan", "wgan_gp": "wgan_gp", "infogan": "bce"}
KINDS = tuple(KIND_LOSS)  # every gan.kind: the one list (compare, the CLI and the tables read it)
KIND_NAMES = {"proposed": "Proposed", "dcgan": "DCGAN", "lsgan": "LSGAN", "wgan_gp": "WGAN-GP", "infogan": "InfoGAN"}
CONDITIONAL_KINDS = ("proposed", "dcgan", "lsgan", "wgan_gp")
LOSS_NAMES = ("bce", "lsgan", "wgan_gp", "hinge")  # the keys of mri_gan.gans.losses.LOSSES (without importing keras)


def resolve_kind(gan_cfg, num_classes: int = 0) -> tuple[str, str, int]:
    """(kind, loss name, n_critic) after defaults; one-line errors for bad combinations."""
    kind = gan_cfg.kind
    if kind not in KIND_LOSS:
        raise MriGanError(f"unknown gan.kind {kind!r} (choose from {', '.join(KIND_LOSS)})")
    loss = gan_cfg.loss or KIND_LOSS[kind]
    if loss not in LOSS_NAMES:
        raise MriGanError(f"unknown gan.loss {loss!r} (choose from {', '.join(LOSS_NAMES)})")
    if num_classes > 0 and kind not in CONDITIONAL_KINDS:
        raise MriGanError(f"gan.conditional works with kinds {', '.join(CONDITIONAL_KINDS)}, not {kind!r}")
    if gan_cfg.pack < 1:
        raise MriGanError(f"gan.pack must be >= 1, got {gan_cfg.pack}")
    if gan_cfg.r1_every < 1:
        raise MriGanError(f"gan.r1_every must be >= 1, got {gan_cfg.r1_every}")
    if gan_cfg.n_critic < 0:
        raise MriGanError(f"gan.n_critic must be >= 0, got {gan_cfg.n_critic}")
    n_critic = gan_cfg.n_critic or (5 if kind == "wgan_gp" else 1)
    return kind, loss, n_critic


def packable(kind: str, num_classes: int = 0) -> bool:
    """PacGAN packing (gan.pack) applies to the unconditional Table I discriminators; DCGAN's
    BatchNorm D, InfoGAN's Q head and the conditional projection D always score single images."""
    return kind in ("proposed", "lsgan", "wgan_gp") and num_classes == 0


def _classes(gan_cfg, num_classes) -> int:
    """num_classes as given, else 1 for a conditional config (only > 0 matters here)."""
    return (1 if gan_cfg.conditional else 0) if num_classes is None else int(num_classes)


def effective_gan(gan_cfg, num_classes: int | None = None):
    """The `gan` section as training uses it: the kind's loss and n_critic written out, and each
    key the kind ignores at the value that means "off" there:

    - `pack` 1 where D scores single images (dcgan, infogan, conditional);
    - `minibatch_std` 0 under a gradient penalty (R1, WGAN-GP: per-image penalties; with the
      channel D's output for one image depends on the others of its group, d out_0 / d x_1 != 0)
      and for dcgan (its D has no such layer);
    - `spectral_norm` false for dcgan (BatchNorm D) and wgan_gp (Gulrajani et al.: the penalty
      replaces it);
    - `r1_gamma` 0 under the wgan_gp loss (its own penalty already constrains D's slope),
      `gp_weight` 0 under any other loss;
    - the InfoGAN codes and their weight 0 outside infogan.

    `num_classes` None: taken from `gan.conditional`. Idempotent."""
    n = _classes(gan_cfg, num_classes)
    kind, loss, n_critic = resolve_kind(gan_cfg, n)
    ch = {"loss": loss, "n_critic": n_critic}
    if not packable(kind, n):
        ch["pack"] = 1
    if loss == "wgan_gp":
        ch["r1_gamma"] = 0.0
    else:
        ch["gp_weight"] = 0.0
    if kind == "dcgan" or loss == "wgan_gp" or gan_cfg.r1_gamma > 0:
        ch["minibatch_std"] = 0
    if kind in ("dcgan", "wgan_gp"):
        ch["spectral_norm"] = False
    if kind != "infogan":
        ch.update(info_categorical=0, info_continuous=0, info_weight=0.0)
    return dataclasses.replace(gan_cfg, **ch)


def effective_config(cfg, num_classes: int | None = None):
    """A copy of `cfg` with its `gan` section as training uses it (`effective_gan`): the one place
    the kind's settings are resolved. `fit` applies it once when a run starts and saves the result
    as RUN/config.yaml."""
    import copy

    out = copy.deepcopy(cfg)
    out.gan = effective_gan(cfg.gan, num_classes)
    return out


# Why a kind ignores a key: key, key/kind or key/loss -> reason.
_WHY = {
    "pack": "its discriminator scores single images (PacGAN packs: unconditional proposed, lsgan, wgan_gp)",
    "minibatch_std/dcgan": "its BatchNorm discriminator has no minibatch-stddev channel",
    "minibatch_std/wgan_gp": "the WGAN-GP gradient penalty needs a per-image discriminator",
    "minibatch_std": "R1 needs a per-image discriminator (gan.r1_gamma=0 keeps the channel)",
    "spectral_norm/dcgan": "its BatchNorm discriminator has no spectral norm",
    "spectral_norm": "the WGAN-GP critic has no spectral norm (its gradient penalty replaces it)",
    "r1_gamma": "the wgan_gp loss has its own gradient penalty",
    "gp_weight": "only the wgan_gp loss has a gradient penalty",
    "info": "only the infogan kind has latent codes",
}


def _show(value) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, str) else f"{value:g}"


def ignored_keys(cfg, num_classes: int | None = None) -> dict[str, str]:
    """'gan.key' -> one line, for each key whose value the chosen kind does not use (its
    effective value differs). `gan.conditional` under a kind without a conditional form is one
    of them here (`compare` trains unconditional cells from such a config; `fit` refuses it)."""
    out = {}
    n = _classes(cfg.gan, num_classes)
    if n and cfg.gan.kind not in CONDITIONAL_KINDS:
        out["gan.conditional"] = (f"gan.conditional true is ignored under gan.kind {cfg.gan.kind}: it has no "
                                  f"conditional form (kinds {', '.join(CONDITIONAL_KINDS)}), so fit refuses it")
        n = 0
    eff = effective_gan(cfg.gan, n)
    kind = cfg.gan.kind + (" (conditional)" if n else "")
    for key in ("pack", "minibatch_std", "spectral_norm", "r1_gamma", "gp_weight",
                "info_categorical", "info_continuous", "info_weight"):
        value, used = getattr(cfg.gan, key), getattr(eff, key)
        if value != used:
            why = (_WHY.get(f"{key}/{cfg.gan.kind}") or _WHY.get(f"{key}/{eff.loss}") or _WHY.get(key)
                   or _WHY["info"])
            out[f"gan.{key}"] = f"gan.{key} {_show(value)} is ignored under gan.kind {kind}: {why}; training uses {_show(used)}"
    return out


def build_models(gan_cfg, image_size: int, num_classes: int = 0):
    """(generator, discriminator) of `gan_cfg.kind`, from its `effective_gan`."""
    g = effective_gan(gan_cfg, num_classes)
    return _generator(g, image_size, num_classes), _discriminator(g, image_size, num_classes)


def build_generator_only(gan_cfg, image_size: int, num_classes: int = 0):
    """The generator of `gan_cfg.kind` alone (for synthesize/export from a checkpoint), from its
    `effective_gan`."""
    return _generator(effective_gan(gan_cfg, num_classes), image_size, num_classes)


def _generator(g, image_size: int, num_classes: int):
    """The generator of an effective `gan` section; InfoGAN's latent input is widened by its codes."""
    from mri_gan.models.generator import build_generator

    if g.kind == "dcgan":
        from mri_gan.models.dcgan import build_dcgan_generator

        return build_dcgan_generator(g, image_size, num_classes, name="generator")
    zdim = g.latent_dim + g.info_categorical + g.info_continuous
    return build_generator(g, image_size, num_classes, name="generator", input_dim=zdim)


def _discriminator(g, image_size: int, num_classes: int):
    """The discriminator of an effective `gan` section."""
    if g.kind == "dcgan":
        from mri_gan.models.dcgan import build_dcgan_discriminator

        return build_dcgan_discriminator(g, image_size, num_classes, name="discriminator")
    if g.kind == "infogan":
        from mri_gan.models.infogan import build_info_discriminator

        return build_info_discriminator(g, image_size, name="discriminator")
    from mri_gan.models.discriminator import build_discriminator

    return build_discriminator(g, image_size, num_classes, name="discriminator")


def make_optimizer(lr: float, train_cfg):
    """Adam at a constant `lr` with `train.beta_1` / `train.beta_2` (loss-scaled under mixed_float16)."""
    import keras

    opt = keras.optimizers.Adam(lr, beta_1=train_cfg.beta_1, beta_2=train_cfg.beta_2)
    if train_cfg.precision == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def _use_jit(t) -> bool:
    """`train.jit_compile` where it applies: the TensorFlow backend with one replica (XLA inside
    MirroredStrategy's cross-replica gradient sums is not supported on CPU; JAX always jits)."""
    import keras

    if keras.backend.backend() != "tensorflow" or resolve_jit(t.jit_compile, "train.jit_compile") != "true":
        return False
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync == 1


def build_gan(cfg, image_size: int, num_classes: int = 0):
    """A compiled `GAN` for `cfg.gan.kind` (num_classes > 0: conditional) with every variable
    created (call it inside `strategy.scope()`). `cfg` goes through `effective_config` (a no-op
    on a run's config, which `fit` resolved when the run started); the model gets its
    `GanSettings`."""
    from mri_gan.backend import set_random_seed
    from mri_gan.gans.gan import GAN
    from mri_gan.gans.settings import settings_for

    cfg = effective_config(cfg, num_classes)
    g, t = cfg.gan, cfg.train
    set_random_seed(t.seed)  # weight init is part of the run's seed
    generator, discriminator = _generator(g, image_size, num_classes), _discriminator(g, image_size, num_classes)
    gan = GAN(generator, discriminator, settings_for(cfg, num_classes, jit=_use_jit(t)), name=f"gan_{g.kind}")
    # jit_compile=False: Keras' "auto" would XLA-compile the whole step on a GPU, R1's nested
    # gradient included; `train.jit_compile` compiles the steps without R1 instead (phase.py)
    gan.compile(d_optimizer=make_optimizer(t.d_lr, t), g_optimizer=make_optimizer(t.g_lr, t), loss=g.loss,
                steps_per_execution=max(1, t.steps_per_execution), jit_compile=False)
    _create_variables(gan)
    return gan


def _create_variables(gan) -> None:
    """Create every variable of `gan` now (inside the strategy scope): models, EMA copy, optimizers."""
    from keras import ops

    from mri_gan.gans.gan import pack_images

    s = gan.settings
    z, y = ops.zeros((2, s.input_dim), "float32"), ops.zeros((2, 1), "int32")
    g_in = [z, y] if s.conditional else z
    x = gan.generator(g_in, training=False)
    if s.pack > 1:
        x = pack_images(ops.concatenate([x] * s.pack, axis=0)[: 2 * s.pack], s.pack)
    gan.discriminator([x, y] if s.conditional else x, training=False)
    if gan.ema_generator is not None:
        gan.ema_generator(g_in, training=False)
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    if getattr(gan, "optimizer", None) is not None and not gan.optimizer.built:
        gan.optimizer.build([])  # compile()'s default, never used: no slots for every weight
    gan.built = True
