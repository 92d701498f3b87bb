"""Adaptive discriminator augmentation's state (`train.ada`; Karras et al. 2020).

The state is three non-trainable variables: p (the probability of each augmentation,
`augment.ada_augment`), the sum of r = E[sign(D(x_real))] (on a step's last D update) since the
last adjustment, and the count of train steps. Every `ada_interval` steps, p moves by
`augment.ada_update`:

    p <- clip(p + sign(mean r - ada_target) * batch * ada_interval / ada_speed, 0, 1)

Under tf.distribute every replica computes the same all-reduced values and the first one's are
kept; on JAX they are Keras variables the stateless step threads through.
"""

from __future__ import annotations

import keras
from keras import ops

from mri_gan.gans.sampling import is_tf


def make_state():
    """(p, sum of r, count) variables, all 0."""
    if is_tf():
        import tensorflow as tf

        only_first = tf.VariableAggregation.ONLY_FIRST_REPLICA
        return (tf.Variable(0.0, trainable=False, dtype=tf.float32, aggregation=only_first, name="ada_p"),
                tf.Variable(0.0, trainable=False, dtype=tf.float32, aggregation=only_first, name="ada_acc"),
                tf.Variable(0, trainable=False, dtype=tf.int64, aggregation=only_first, name="ada_count"))
    return (keras.Variable(0.0, trainable=False, dtype="float32", name="ada_p"),
            keras.Variable(0.0, trainable=False, dtype="float32", name="ada_acc"),
            keras.Variable(0, trainable=False, dtype="int32", name="ada_count"))


def update(state, real_logits, global_batch: int, settings) -> None:
    """Count one train step with D's outputs on its reals; adjust p when `settings.ada_interval`
    steps have been counted. `global_batch`: images per step over all replicas."""
    from mri_gan.gans.augment import ada_update

    p_var, acc_var, count_var = state
    sign = ops.mean(ops.sign(real_logits))
    if is_tf():
        import tensorflow as tf

        ctx = tf.distribute.get_replica_context()
        if ctx is not None and tf.distribute.get_strategy().num_replicas_in_sync > 1:
            sign = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, sign)
    interval = settings.ada_interval
    p = ops.convert_to_tensor(p_var)
    acc = ops.convert_to_tensor(acc_var) + sign
    count = ops.convert_to_tensor(count_var) + 1
    due = ops.equal(ops.mod(count, interval), 0)
    new_p = ada_update(p, acc / float(interval), settings.ada_target, global_batch, interval, settings.ada_speed)
    p_var.assign(ops.where(due, new_p, p))
    acc_var.assign(ops.where(due, 0.0, acc))
    count_var.assign(count)
