"""Learning-rate decay over a GAN run's budget (`train.lr_decay`, `train.lr_decay_start`).

`HoldThenDecay(lr, total, start)`: the learning rate stays at `lr` for the first `start` x `total`
optimizer steps, then falls to 0 at step `total`, linearly or along a half cosine. Keras applies a
`LearningRateSchedule` to the optimizer's own `iterations`, which the run checkpoint holds, so a
resumed run continues the schedule where it stopped. Anything past `total` stays at 0.
"""

from __future__ import annotations

import math

import keras
from keras import ops

DECAYS = ("none", "linear", "cosine")


@keras.saving.register_keras_serializable(package="mri_gan")
class HoldThenDecay(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, lr: float, total_steps: int, start: float = 0.0, shape: str = "linear"):
        if shape not in DECAYS[1:]:
            raise ValueError(f"shape must be linear or cosine, got {shape!r}")
        self.lr, self.total_steps, self.start, self.shape = float(lr), int(total_steps), float(start), shape

    def __call__(self, step):
        hold = self.start * self.total_steps
        span = max(1.0, self.total_steps - hold)
        frac = ops.clip((ops.cast(step, "float32") - hold) / span, 0.0, 1.0)  # 0 while holding, 1 at the end
        if self.shape == "linear":
            factor = 1.0 - frac
        else:
            factor = 0.5 * (1.0 + ops.cos(math.pi * frac))
        return self.lr * factor

    def get_config(self):
        return {"lr": self.lr, "total_steps": self.total_steps, "start": self.start, "shape": self.shape}


def learning_rate(lr: float, decay: str, start: float, total_steps: int):
    """`lr` as a float (decay none, or no step count known) or a `HoldThenDecay` over `total_steps`."""
    from mri_gan.errors import MriGanError

    if decay not in DECAYS:
        raise MriGanError(f"train.lr_decay must be one of {', '.join(DECAYS)}, got {decay!r}")
    if not 0.0 <= start < 1.0:
        raise MriGanError(f"train.lr_decay_start must be in [0, 1), got {start}")
    if decay == "none" or total_steps <= 0:
        return lr
    return HoldThenDecay(lr, total_steps, start, decay)
