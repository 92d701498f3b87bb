"""Checkpoints of a GAN run: everything needed to continue exactly.

One `tf.train.Checkpoint` holds generator, discriminator, both optimizers (iterations and
moments: `save_weights` would lose them, see KERAS-NOTES), the EMA generator, ADA's state, the
SeedGenerator state and the epoch counter. `tf.train.CheckpointManager` writes a checkpoint's
files first and then atomically replaces the small `checkpoint` index file, so a kill at any
moment leaves the index pointing at the last complete checkpoint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mri_gan.errors import MriGanError


def make_checkpoint(gan, epoch_var):
    import tensorflow as tf

    items = dict(generator=gan.generator, discriminator=gan.discriminator,
                 g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                 seed_state=gan.seed_generator.state, epoch=epoch_var,
                 ada_p=gan.ada_p, ada_acc=gan.ada_acc, ada_count=gan.ada_count)
    if gan.ema_generator is not None:
        items["ema_generator"] = gan.ema_generator
    return tf.train.Checkpoint(**items)


def make_manager(ckpt, directory, keep: int = 3):
    import tensorflow as tf

    return tf.train.CheckpointManager(ckpt, str(directory), max_to_keep=max(1, keep), checkpoint_name="ckpt")


def latest_checkpoint(run_or_dir) -> str | None:
    import tensorflow as tf

    p = Path(run_or_dir)
    d = p / "checkpoints" if (p / "checkpoints").is_dir() else p
    return tf.train.latest_checkpoint(str(d))


def save_generators(gan, directory) -> str:
    """Save only the generator and the EMA generator (a sampling snapshot, e.g. the best by KID)
    into `directory`, replacing the previous snapshot there; returns the prefix."""
    import tensorflow as tf

    items = {"generator": gan.generator}
    if gan.ema_generator is not None:
        items["ema_generator"] = gan.ema_generator
    return make_manager(tf.train.Checkpoint(**items), directory, keep=1).save()


def resolve_checkpoint(run, checkpoint: str | None = "auto") -> str:
    """A checkpoint prefix (synth.checkpoint): `auto` (also None) = the best-KID snapshot of
    RUN/checkpoints/best (written while training) when there is one, else the run's newest;
    `best` = that snapshot (an error without it); `last` = the newest; else a prefix or a dir."""
    if checkpoint in (None, "auto"):
        return latest_checkpoint(Path(run) / "checkpoints" / "best") or resolve_checkpoint(run, "last")
    if checkpoint == "best":
        found = latest_checkpoint(Path(run) / "checkpoints" / "best")
        if not found:
            raise MriGanError(f"no best checkpoint in {Path(run) / 'checkpoints' / 'best'}: "
                              "it is written while training when train.eval_every > 0")
        return found
    if checkpoint != "last":
        c = Path(checkpoint)
        if c.is_dir():
            found = latest_checkpoint(c)
            if found:
                return found
            raise MriGanError(f"no checkpoint in {c}")
        if not Path(str(c) + ".index").is_file():
            raise MriGanError(f"checkpoint not found: {c} (expected {c}.index)")
        return str(c)
    found = latest_checkpoint(run)
    if not found:
        raise MriGanError(f"no checkpoint in {Path(run) / 'checkpoints'}: train it with `mrigan-tf fit` first")
    return found


def checkpoint_sha256(prefix: str) -> str:
    """SHA-256 over a checkpoint's files (index + data shards), in name order."""
    h = hashlib.sha256()
    p = Path(prefix)
    files = sorted(f for f in p.parent.glob(p.name + ".*") if f.is_file())
    if not files:
        raise MriGanError(f"checkpoint files not found: {prefix}.*")
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def restore_generator(generator, prefix: str, ema: bool) -> None:
    """Load only the generator (the EMA copy when `ema`) from a run checkpoint."""
    import tensorflow as tf

    ckpt = tf.train.Checkpoint(**{"ema_generator" if ema else "generator": generator})
    try:
        ckpt.restore(prefix).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise MriGanError(f"checkpoint {prefix} does not match this run's generator: {str(e).splitlines()[0]}") from None
