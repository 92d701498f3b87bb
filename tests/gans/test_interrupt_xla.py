"""Ctrl-C and SIGTERM arriving while a train step runs, under the default settings (XLA-compiled
steps, lazy R1 every 16 D updates on a plain graph, EMA): the checkpoint records as many batches
as the weights were trained on, and `--resume` ends bit-equal to an uninterrupted run.

A signal that arrives while TensorFlow runs a step is handled when the step returns, before that
batch's callbacks: raised there, the checkpoint said one batch fewer than the weights had seen and
the resumed run trained that batch twice. The test sends the signal to its
own process right after the step of a chosen batch returns, which is where such a signal lands."""

from __future__ import annotations

import os
import signal

import keras
import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.utils import read_jsonl

EPOCHS = 4  # 6 batches an epoch: 24 steps, R1 (plain graph) on steps 0 and 16, XLA on the others


def default_cfg() -> Config:
    cfg = Config()  # the defaults (gan.r1_every 16, train.ema 0.999) with the XLA steps, which
    cfg.train.jit_compile = "true"  # "auto" leaves off on a CPU where TensorFlow uses oneDNN
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 16, 8, 8, 16, 8
    t = cfg.train
    t.batch_size, t.sample_every, t.sample_grid, t.eval_every = 4, 0, 2, 0
    return cfg


def _state(gan):
    ws = [np.array(w) for m in (gan.generator, gan.discriminator, gan.ema_generator) for w in m.weights]
    return ws + [np.array(gan.g_optimizer.iterations), np.array(gan.d_optimizer.iterations),
                 np.array(gan.seed_generator.state)]


class SignalAfterStep(keras.callbacks.Callback):
    """Sends this process `signum` as the train step of global batch `step` (0-based) returns,
    before the callbacks of that batch run."""

    def __init__(self, step: int, signum: int):
        super().__init__()
        self.step, self.signum = step, signum

    def on_train_begin(self, logs=None):
        model, calls, step_fn = self.model, [0], self.model.train_function

        def train_function(iterator):
            logs = step_fn(iterator)
            calls[0] += 1
            if calls[0] == self.step + 1:
                os.kill(os.getpid(), self.signum)
            return logs

        model.train_function = train_function


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    from conftest import make_prep
    from mri_gan.gans.fit import run_fit

    root = tmp_path_factory.mktemp("xla")
    prep = make_prep(root / "prep", size=16, n_train=24, n_test=2, classes=["glioma", "notumor"])
    r = run_fit(prep, "glioma", root / "straight", default_cfg(), epochs=EPOCHS, verbose=0)
    assert r["steps_per_epoch"] == 6 and r["gan"].settings.jit and r["gan"].settings.r1_every == 16
    return prep, _state(r["gan"])


@pytest.mark.parametrize("step, signum", [(16, signal.SIGINT),  # the default suite keeps one case
                                          pytest.param(3, signal.SIGTERM, marks=pytest.mark.slow),
                                          pytest.param(11, signal.SIGINT, marks=pytest.mark.slow)])
def test_signal_during_a_step_then_resume_equals_straight(tmp_path, straight, step, signum, capsys):
    """Batch 16 is an R1 step (a plain graph), 3 and 11 are XLA steps, 11 the last of its epoch."""
    from mri_gan.gans.fit import run_fit

    prep, expected = straight
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_fit(prep, "glioma", run, default_cfg(), epochs=EPOCHS, verbose=0,
                extra_callbacks=[SignalAfterStep(step, signum)])
    said = capsys.readouterr().err
    resumed = run_fit(None, None, run, default_cfg(), resume=True, epochs=EPOCHS, verbose=0)
    for a, b in zip(expected, _state(resumed["gan"])):
        np.testing.assert_array_equal(a, b)
    assert resumed["start_epoch"] * 6 + resumed["start_batch"] == step + 1
    epoch, batch = divmod(step, 6)
    assert f"at epoch {epoch + 1} batch {batch + 1}: checkpoint" in said, said
    assert [r["epoch"] for r in read_jsonl(run / "history.jsonl")] == list(range(1, EPOCHS + 1))
