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
"""

from __future__ import annotations

import json
import os

from mri_gan.errors import MriGanError

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


def get_strategy(name: str = "auto"):
    import tensorflow as tf

    if name not in STRATEGIES:
        raise MriGanError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")
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
