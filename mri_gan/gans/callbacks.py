"""Keras callbacks of `fit`: stop on NaN/inf, history.jsonl + TensorBoard scalars, sample grids,
checkpoints. They share one `RunState` so that a failed epoch is neither logged as good nor
checkpointed (the last good checkpoint stays the newest)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import keras

from mri_gan.images import image_grid
from mri_gan.utils import append_jsonl, atomic_write_bytes


class RunState:
    """What the callbacks share: the failure message (if any) and where the loop is.

    `offset` is the number of batches of the epoch in progress that ran before the current
    `fit` call (a run resumed after a Ctrl-C inside an epoch; 0 otherwise): Keras numbers that
    epoch's batches from 0, the callbacks add `offset` to get the batch within the epoch."""

    def __init__(self, epoch: int = 0, offset: int = 0, steps_per_epoch: int = 0):
        self.failure: str | None = None
        self.stopped: str | None = None  # why the quality monitor ended the run early (train.patience)
        self.epoch = epoch  # 0-based epoch in progress
        self.offset = offset
        self.batch = offset - 1  # last finished batch of that epoch
        self.steps_per_epoch = steps_per_epoch


class NonFiniteStop(keras.callbacks.Callback):
    """Stop at the first NaN/inf in the reported losses, naming epoch (1-based) and batch."""

    def __init__(self, state: RunState):
        super().__init__()
        self.state = state

    def on_epoch_begin(self, epoch, logs=None):
        self.state.epoch, self.state.batch = epoch, self.state.offset - 1

    def on_train_batch_end(self, batch, logs=None):
        batch = self.state.batch = self.state.offset + batch
        for name, value in (logs or {}).items():
            v = float(value)
            if not math.isfinite(v):
                self.state.failure = f"non-finite {name}={v} at epoch {self.state.epoch + 1} batch {batch + 1}"
                self.model.stop_training = True
                return


class HistoryWriter(keras.callbacks.Callback):
    """One JSON line per epoch (epoch, d_loss, g_loss, d_real, d_fake, ..., seconds,
    images_per_second) in RUN/history.jsonl, and the same scalars in TensorBoard. The line of an
    epoch resumed after a Ctrl-C inside it says `resumed_at_batch`: its losses and speed cover
    the batches after that one only."""

    def __init__(self, path, images_per_epoch: int, state: RunState, writer=None):
        super().__init__()
        self.path, self.images_per_epoch, self.state, self.writer = Path(path), images_per_epoch, state, writer
        self.last_epoch = 0  # 1-based epoch of the last line written by this process
        self.t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.state.failure:
            return
        seconds = time.perf_counter() - self.t0
        images = self.images_per_epoch
        rec = {"epoch": epoch + 1, "kimg": round((epoch + 1) * self.images_per_epoch / 1000, 3)}
        rec.update({k: float(v) for k, v in (logs or {}).items()})
        if self.state.offset and self.state.steps_per_epoch:
            rec["resumed_at_batch"] = self.state.offset
            images = images * (self.state.steps_per_epoch - self.state.offset) // self.state.steps_per_epoch
        rec["seconds"] = round(seconds, 3)
        rec["images_per_second"] = round(images / max(seconds, 1e-9), 2)
        append_jsonl(self.path, rec)
        self.last_epoch = epoch + 1
        if self.writer is not None:
            import tensorflow as tf

            with self.writer.as_default(step=epoch + 1):
                for k, v in rec.items():
                    if k != "epoch":
                        tf.summary.scalar(k, v)
            self.writer.flush()


def write_png(path, gray_uint8: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", gray_uint8)
    if not ok:  # pragma: no cover
        raise OSError(f"cannot encode {path}")
    atomic_write_bytes(path, buf.tobytes())


class SampleGrids(keras.callbacks.Callback):
    """A square grid of G(fixed latent batch `z`, `labels`) every `every` batches (0 = off) and at
    every `epoch_every`-th epoch end: RUN/samples/epoch_0003.png (epoch end),
    RUN/samples/epoch_0003_batch_00010.png (every `every` batches), and TensorBoard `samples` images."""

    def __init__(self, gan, out_dir, z, labels, every: int, state: RunState, writer=None, epoch_every: int = 1):
        super().__init__()
        self.gan, self.out_dir, self.z, self.labels = gan, Path(out_dir), z, labels
        self.cols = math.isqrt(len(z))
        self.epoch_every = max(1, int(epoch_every))
        self.every, self.steps_per_epoch, self.state, self.writer = every, state.steps_per_epoch, state, writer

    def _grid(self) -> np.ndarray:
        from mri_gan.data.pipeline import to_uint8

        _ = self.model  # on JAX, reading `model` writes the step's state back into the variables
        x = np.asarray(self.gan.generate(self.z, self.labels))
        return image_grid(to_uint8(x[..., 0]), self.cols)

    def _write(self, name: str, step: int) -> None:
        grid = self._grid()
        write_png(self.out_dir / f"{name}.png", grid)
        if self.writer is not None:
            import tensorflow as tf

            with self.writer.as_default(step=step):
                tf.summary.image("samples", grid[None, :, :, None], max_outputs=1)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        # next global step at which a grid is due (steps_per_execution > 1 delivers batches in jumps)
        first = epoch * self.steps_per_epoch + self.state.offset
        self._next = (first // self.every + 1) * self.every if self.every else None

    def on_train_batch_end(self, batch, logs=None):
        if not self.every or self.state.failure:
            return
        batch += self.state.offset
        done = self._epoch * self.steps_per_epoch + batch + 1  # global step
        if done < self._next:
            return
        self._next = (done // self.every + 1) * self.every
        if batch + 1 < self.steps_per_epoch:  # the epoch-end grid covers the last batch
            self._write(f"epoch_{self._epoch + 1:04d}_batch_{batch + 1:05d}", done)

    def on_epoch_end(self, epoch, logs=None):
        if not self.state.failure and (epoch + 1) % self.epoch_every == 0:
            self._write(f"epoch_{epoch + 1:04d}", (epoch + 1) * self.steps_per_epoch)
            if self.writer is not None:
                self.writer.flush()


class EpochCheckpoint(keras.callbacks.Callback):
    """Save a checkpoint every `every` epochs, at the last one and at an early stop (never after a failure); the
    epoch counter says `epoch + 1` finished and the batch position (`batch_var`) 0."""

    def __init__(self, manager, epoch_var, state: RunState, every: int, last_epoch: int, batch_var=None):
        super().__init__()
        self.manager, self.epoch_var, self.state, self.batch_var = manager, epoch_var, state, batch_var
        self.every, self.last_epoch = max(1, every), last_epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.state.failure:
            return
        self.epoch_var.assign(epoch + 1)
        if self.batch_var is not None:
            self.batch_var.assign(0)
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.last_epoch or self.state.stopped:
            # numbered by generator steps, so a Ctrl-C checkpoint mid-epoch never reuses a number
            self.manager.save(checkpoint_number=int(self.model.g_optimizer.iterations.numpy()))


class PendingInterrupt(keras.callbacks.Callback):
    """Raises a Ctrl-C or SIGTERM that came during the batch or epoch (mri_gan.interrupts.deferred)
    at its end, after the other callbacks (it comes last), so the interrupt checkpoint's batch
    position is the number of batches the weights were trained on."""

    def on_train_batch_end(self, batch, logs=None):
        from mri_gan.interrupts import raise_pending

        raise_pending()

    def on_epoch_end(self, epoch, logs=None):
        from mri_gan.interrupts import raise_pending

        raise_pending()
