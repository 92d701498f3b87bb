"""SIGTERM (what a batch scheduler or a preemptible machine sends) during `mrigan-tf fit` is
handled as Ctrl-C: a checkpoint at the batch reached, one line, exit code 143, the run folder's
lock released; `--resume` then ends bit-equal to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mri_gan.utils import read_jsonl

EPOCHS = 60
REPO = Path(__file__).resolve().parents[2]
SETTINGS = {"gan.g_width": 16, "gan.g_min_width": 8, "gan.d_width": 8, "gan.d_max_width": 16, "gan.latent_dim": 8,
            "train.batch_size": 8, "train.sample_every": 0, "train.sample_grid": 2, "train.eval_every": 0,
            "train.jit_compile": "false", "train.ema": 0.9}


@pytest.mark.slow
def test_sigterm_checkpoints_exits_143_and_resumes_exactly(tmp_path, tiny_prep_factory):
    from conftest import fresh_fit

    prep = tiny_prep_factory(size=16, n_train=24, n_test=2, classes=["glioma", "notumor"])
    run = tmp_path / "run"
    args = [sys.executable, "-m", "cli.main", "fit", "--data", str(prep), "--class", "glioma", "--out", str(run),
            "--epochs", str(EPOCHS)]
    for k, v in SETTINGS.items():
        args += ["-s", f"{k}={v}"]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not list((run / "checkpoints").glob("ckpt-*.index")):
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"fit ended before its first checkpoint: {child.communicate()[1][-2000:]}")
        time.sleep(0.01)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 143, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    lines = [line for line in err.splitlines() if "SIGTERM" in line or "interrupted" in line]
    assert len(lines) == 1 and lines[0].startswith("terminated (SIGTERM) at epoch") and "--resume" in lines[0], err
    assert not (run / ".lock").exists()
    assert len(read_jsonl(run / "history.jsonl")) < EPOCHS, "the run ended before SIGTERM came: nothing was tested"

    # the resumed run and the uninterrupted one each in a fresh process, as a user runs them
    resumed, start = fresh_fit(run, SETTINGS, EPOCHS, resume=True)
    straight, _ = fresh_fit(tmp_path / "straight", SETTINGS, EPOCHS, data=prep, cls="glioma")
    assert start != (0, 0)
    assert len(straight) == len(resumed)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)
    assert [r["epoch"] for r in read_jsonl(run / "history.jsonl")] == list(range(1, EPOCHS + 1))


def test_sigterm_outside_training_exits_143_with_one_line(tmp_path, tiny_prep):
    """SIGTERM while a command is not training (here: sleeping inside run_fit's lock) is still
    one line and 143, and the lock goes."""
    code = (
        "import signal, sys, time\n"
        "from cli.main import main\n"
        "import mri_gan.gans.fit as fit\n"
        "def slow(*a, **k):\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
        "fit._open_run = slow\n"
        f"main(['fit', '--data', {str(tiny_prep)!r}, '--class', 'glioma', '--out', {str(tmp_path / 'r')!r}])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""))
    assert child.stdout.readline().strip() == "ready"
    assert (tmp_path / "r" / ".lock").exists()
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143 and "Traceback" not in err, err
    said = [line for line in err.splitlines() if any(w in line for w in ("SIGTERM", "terminated", "interrupted", "Error"))]
    assert said == ["terminated (SIGTERM)"], err
    assert not (tmp_path / "r").exists()
