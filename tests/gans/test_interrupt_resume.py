"""Ctrl-C at a chosen batch inside an epoch, and kill -9 at any moment, then `--resume`: the
resumed run ends with exactly the weights of an uninterrupted one (16 px, 3 steps an epoch)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.utils import read_jsonl

EPOCHS = 3


def tiny_cfg(checkpoint_every: int = 1) -> Config:
    cfg = Config()
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 16, 8, 8, 16, 8
    t = cfg.train
    t.batch_size, t.sample_every, t.sample_grid, t.eval_every = 8, 0, 2, 0
    t.ema, t.ada, t.ada_interval, t.ada_target = 0.9, True, 1, 0.0
    t.checkpoint_every = checkpoint_every
    return cfg


def _state(gan):
    ws = [np.array(w) for m in (gan.generator, gan.discriminator, gan.ema_generator) for w in m.weights]
    return ws + [np.array(gan.ada_p), np.array(gan.g_optimizer.iterations), np.array(gan.d_optimizer.iterations)]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


class InterruptAt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt after batch `batch` (0-based) of epoch `epoch` (0-based), as a
    Ctrl-C landing between two batches of that epoch would."""

    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


@pytest.fixture
def prep16(tiny_prep_factory):
    return tiny_prep_factory(size=16, n_train=24, n_test=2, classes=["glioma", "notumor"])


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint_every, batch", [(1, 0), (2, 2)])
def test_ctrl_c_mid_epoch_then_resume_equals_straight(tmp_path, prep16, checkpoint_every, batch, capsys):
    """Ctrl-C after batch 1 of epoch 2 (its checkpoint says epoch 1 done + 1 batch), and after the
    last batch of epoch 2 before its epoch-end callbacks (with checkpoint_every=2 no checkpoint of
    epoch 1 exists): the resumed run's weights, optimizer steps, EMA and ADA state are bit-equal."""
    from mri_gan.gans.fit import run_fit

    straight = run_fit(prep16, "glioma", tmp_path / "a", tiny_cfg(checkpoint_every), epochs=EPOCHS, verbose=0)
    assert straight["steps_per_epoch"] == 3
    with pytest.raises(KeyboardInterrupt):
        run_fit(prep16, "glioma", tmp_path / "b", tiny_cfg(checkpoint_every), epochs=EPOCHS, verbose=0,
                extra_callbacks=[InterruptAt(epoch=1, batch=batch)])
    assert f"interrupted at epoch 2 batch {batch + 1}" in capsys.readouterr().err
    resumed = run_fit(None, None, tmp_path / "b", tiny_cfg(checkpoint_every), resume=True, epochs=EPOCHS, verbose=0)
    assert (resumed["start_epoch"], resumed["start_batch"]) == ((1, 1) if batch == 0 else (2, 0))
    _assert_same(_state(straight["gan"]), _state(resumed["gan"]))
    assert [r["epoch"] for r in read_jsonl(tmp_path / "b" / "history.jsonl")] == list(range(1, EPOCHS + 1))


_CHILD = r"""
import sys
from mri_gan.gans.fit import run_fit
sys.path.insert(0, sys.argv[3])
from test_interrupt_resume import tiny_cfg
run_fit(sys.argv[1], "glioma", sys.argv[2], tiny_cfg(), epochs=int(sys.argv[4]), verbose=0)
"""


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_equals_straight(tmp_path, prep16):
    """A training process SIGKILLed once its first checkpoint is on disk (so mid-way through a
    later epoch, or while writing), then resumed, equals a straight run."""
    from mri_gan.gans.fit import run_fit

    epochs = 30  # enough that an idle machine cannot finish before the kill lands (6 could)
    run = tmp_path / "killed"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(prep16), str(run), os.path.dirname(__file__),
                              str(epochs)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list((run / "checkpoints").glob("ckpt-*.index")):
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"child ended before its first checkpoint: {child.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    done = len(read_jsonl(run / "history.jsonl"))
    assert done < epochs, "the child finished before it was killed: nothing was tested"

    resumed = run_fit(None, None, run, tiny_cfg(), resume=True, epochs=epochs, verbose=0)
    straight = run_fit(prep16, "glioma", tmp_path / "straight", tiny_cfg(), epochs=epochs, verbose=0)
    _assert_same(_state(straight["gan"]), _state(resumed["gan"]))
    assert [r["epoch"] for r in read_jsonl(run / "history.jsonl")] == list(range(1, epochs + 1))
