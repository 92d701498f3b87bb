"""The generator's exponential moving average (`train.ema`), the copy that `generate` samples.

After n generator steps the EMA weights e move toward the generator's weights w as

    d = min(decay, (1 + n) / (10 + n))
    e <- d * e + (1 - d) * w

the warm-up of `tf.train.ExponentialMovingAverage(num_updates=n)`: the average forgets the random
initial weights (with a flat 0.999, 13 % of them are still in it after 2,000 steps). Non-trainable
weights (BatchNorm statistics) are copied as they are.
"""

from __future__ import annotations

import keras
from keras import ops


def make_ema(generator, decay: float):
    """A copy of `generator` with its weights, or None when `decay` is 0 (no EMA)."""
    if decay <= 0:
        return None
    copy = keras.models.clone_model(generator)
    copy.set_weights(generator.get_weights())
    return copy


def ema_decay(decay: float, steps):
    """d = min(decay, (1 + n) / (10 + n)) after n = `steps` generator steps."""
    n = ops.cast(steps, "float32")
    return ops.minimum(decay, (1.0 + n) / (10.0 + n))


def update_ema(average, generator, decay: float, steps) -> None:
    """One EMA update of `average`'s weights toward `generator`'s (`steps`: G's update count)."""
    d = ema_decay(decay, steps)
    for e, w in zip(average.weights, generator.weights):
        e.assign(d * e + (1.0 - d) * w if w.trainable else w)
