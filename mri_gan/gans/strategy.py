"""Pick the tf.distribute strategy of a run (`train.strategy` / `fit --strategy`).

- auto:        MirroredStrategy over all GPUs when there are any, else the default strategy.
- default:     the default (no-op) strategy: one device.
- mirrored:    MirroredStrategy over all GPUs, or over all logical CPUs when there is no GPU
               (split the CPU with `tf.config.set_logical_device_configuration` first; the tests do).
- multiworker: MultiWorkerMirroredStrategy; the cluster comes from the TF_CONFIG environment
               variable. Start the same `fit` once per worker, each with the same cluster and
               its own task index, e.g. for 2 local processes
               TF_CONFIG='{"cluster":{"worker":["localhost:23456","localhost:23457"]},
                           "task":{"type":"worker","index":0}}' (index 1 for the other).
               Worker 0 is the chief and writes the run dir; give the others another --out.

On JAX (KERAS_BACKEND=jax) tf.distribute does not apply: `JaxStrategy` gives run_fit the same
two things (`num_replicas_in_sync`, `scope()`) over `keras.distribution.DataParallel`, which
shards each batch over the devices and replicates the variables; auto = DataParallel when more
than one JAX device is visible, mirrored = DataParallel over all of them, default = one device,
multiworker = refused (JAX's multi-process setup is not wired up here).
"""

from __future__ import annotations

import json
import os

from mri_gan.errors import MriGanError

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


class JaxStrategy:
    """What run_fit needs of a tf.distribute strategy, on JAX. `fit_scope()` holds the
    distribution for the whole run (Keras' JAX trainer reads the global one when it shards data);
    `scope()` is then a no-op."""

    def __init__(self, devices=None):
        import keras

        self.distribution = keras.distribution.DataParallel(devices=devices) if devices else None
        self.num_replicas_in_sync = len(devices) if devices else 1

    def fit_scope(self):
        import contextlib

        return self.distribution.scope() if self.distribution is not None else contextlib.nullcontext()

    def scope(self):
        import contextlib

        return contextlib.nullcontext()


def _jax_strategy(name: str) -> JaxStrategy:
    import jax

    if name == "multiworker":
        raise MriGanError("--strategy multiworker is TensorFlow's (tf.distribute): run it with KERAS_BACKEND=tensorflow")
    devices = jax.devices()
    if name == "default" or (name == "auto" and len(devices) < 2):
        return JaxStrategy()
    return JaxStrategy(devices)


def get_strategy(name: str = "auto"):
    if name not in STRATEGIES:
        raise MriGanError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")
    from mri_gan.backend import is_tensorflow

    if not is_tensorflow():
        return _jax_strategy(name)
    import tensorflow as tf

    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise MriGanError("--strategy multiworker needs the TF_CONFIG environment variable (cluster + task)")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError:
            raise MriGanError("TF_CONFIG is not valid JSON") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if gpus else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if gpus:
        return tf.distribute.MirroredStrategy()
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=cpus)


def is_chief(strategy) -> bool:
    """True on the process that writes the run dir (always, except non-chief multi-workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                              and "chief" not in resolver.cluster_spec().as_dict())
