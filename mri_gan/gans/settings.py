"""`GanSettings`: what the GAN's train step needs to know, as one frozen value.

`settings_for(cfg, num_classes, jit)` reads it from a run's effective config
(`mri_gan.gans.factory.effective_config`: the kind already resolved into its loss, n_critic and the
keys it uses), so the model never looks at `gan.kind` again.
"""

from __future__ import annotations

import dataclasses

from mri_gan.errors import MriGanError


@dataclasses.dataclass(frozen=True)
class GanSettings:
    latent_dim: int  # width of z
    num_classes: int = 0  # > 0: conditional on a class label
    info_categorical: int = 0  # InfoGAN: one categorical code of this many values, appended to z
    info_continuous: int = 0  # InfoGAN: this many uniform(-1, 1) codes, appended to z
    info_weight: float = 1.0  # weight of the mutual-information term in both losses
    n_critic: int = 1  # D updates per G update
    gp_weight: float = 0.0  # WGAN-GP gradient penalty weight (0 = off)
    r1_gamma: float = 0.0  # R1 weight gamma, added as gamma / 2 * R1 (0 = off)
    r1_every: int = 1  # lazy R1: on every Nth D update, weighted by N
    pack: int = 1  # PacGAN: images per D input
    reuse_fakes: bool = False  # the last D update and the G update share one generator forward
    diffaugment: str = ""  # DiffAugment policy on D's inputs ("" = off)
    augment_group: int = 1  # images that share one augmentation draw
    ada: bool = False  # adaptive discriminator augmentation
    ada_target: float = 0.6
    ada_interval: int = 4  # D updates between two adjustments of p
    ada_speed: float = 20000.0  # images over which p can move by 1
    ema: float = 0.0  # generator EMA decay (0 = off)
    seed: int = 0  # the SeedGenerator's seed
    jit: bool = False  # TensorFlow: XLA-compile the steps without an R1 update (phase.py)

    def __post_init__(self):
        object.__setattr__(self, "diffaugment", self.diffaugment or "")
        for f in dataclasses.fields(self):  # each value as its field's type; counts at least 1
            value = {"int": int, "float": float, "bool": bool, "str": str}[f.type](getattr(self, f.name))
            at_least_one = f.name in ("n_critic", "r1_every", "pack", "augment_group")
            object.__setattr__(self, f.name, max(1, value) if at_least_one else value)

    @property
    def info_dim(self) -> int:
        return self.info_categorical + self.info_continuous

    @property
    def input_dim(self) -> int:
        """Width of the generator's latent input: z plus InfoGAN codes."""
        return self.latent_dim + self.info_dim

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0


def settings_for(cfg, num_classes: int = 0, jit: bool = False) -> GanSettings:
    """The settings of an effective config's `gan` and `train` sections; `jit` where
    `train.jit_compile` applies (factory._use_jit)."""
    g, t = cfg.gan, cfg.train
    if t.diffaugment_per not in ("image", "group"):
        raise MriGanError(f"train.diffaugment_per must be image or group, got {t.diffaugment_per!r}")
    group = g.pack * max(1, g.minibatch_std) if t.diffaugment_per == "group" else 1
    return GanSettings(latent_dim=g.latent_dim, num_classes=num_classes, info_categorical=g.info_categorical,
                       info_continuous=g.info_continuous, info_weight=g.info_weight, n_critic=g.n_critic,
                       gp_weight=g.gp_weight, r1_gamma=g.r1_gamma, r1_every=g.r1_every, pack=g.pack,
                       reuse_fakes=t.reuse_fakes, diffaugment=t.diffaugment, augment_group=group, ada=t.ada,
                       ada_target=t.ada_target, ada_interval=t.ada_interval, ada_speed=t.ada_speed, ema=t.ema,
                       seed=t.seed, jit=jit)
