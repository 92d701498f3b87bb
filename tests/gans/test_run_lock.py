"""One writer per GAN run folder (mri_gan/lock.py, taken by run_fit): a live holder refuses a
second writer with one line naming its pid; a lock left by a dead process is taken over with a
note, so `--resume` works; the lock goes on a normal end, an exception and Ctrl-C."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from cli.main import cli
from mri_gan.errors import MriGanError
from mri_gan.lock import LOCK_NAME, FolderLock

TINY = ["-s", "gan.g_width=16", "-s", "gan.g_min_width=8", "-s", "gan.d_width=8", "-s", "gan.d_max_width=16",
        "-s", "gan.latent_dim=8", "-s", "train.batch_size=8", "-s", "train.sample_every=0", "-s", "train.eval_every=0",
        "-s", "train.jit_compile=false"]


def tiny_cfg():
    from mri_gan.config import load_config

    return load_config(None, [TINY[i + 1] for i in range(0, len(TINY), 2)])


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _write_lock(directory, pid: int, host: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                                   "started": "2020-01-01T00:00:00+00:00"}))


_FIT_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[3])
from test_run_lock import tiny_cfg
from mri_gan.gans.fit import run_fit
run_fit(sys.argv[1], "glioma", sys.argv[2], tiny_cfg(), epochs=100000, verbose=0)
"""


def test_a_second_fit_on_a_run_being_trained_is_refused(tmp_path, tiny_prep):
    """A `fit` process trains RUN; `fit --resume RUN` (the CLI) and run_fit on RUN are refused
    with one line naming that process's pid, and neither touches its files."""
    run = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    child = subprocess.Popen([sys.executable, "-c", _FIT_CHILD, str(tiny_prep), str(run), os.path.dirname(__file__)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run / "history.jsonl").is_file() or not (run / "history.jsonl").read_text():
            if child.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the training child did not start: {child.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        r = CliRunner().invoke(cli, ["fit", "--resume", str(run), "--epochs", "1"])  # would end at once
        errors = [line for line in r.output.splitlines() if line.startswith("Error")]
        assert r.exit_code == 1 and len(errors) == 1 and f"pid {child.pid} " in errors[0], r.output
        assert "Traceback" not in r.output
        config = (run / "config.yaml").read_bytes()
        from mri_gan.gans.fit import run_fit

        with pytest.raises(MriGanError, match=f"being written by pid {child.pid} "):
            run_fit(tiny_prep, "glioma", run, tiny_cfg(), epochs=1, verbose=0)
        assert (run / "config.yaml").read_bytes() == config
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


_LOCK_CHILD = r"""
import sys, time
from mri_gan.lock import FolderLock
FolderLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_live_holders_refuse(tmp_path):
    """A sleeping process holding the lock, another lock of this process, and a lock file naming
    this process's pid all refuse."""
    d = tmp_path / "run"
    child = subprocess.Popen([sys.executable, "-c", _LOCK_CHILD, str(d)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(MriGanError, match=f"pid {child.pid} on {socket.gethostname()}"):
            FolderLock(d).acquire()
    finally:
        child.kill()
        child.wait()
    with FolderLock(tmp_path / "mine") as first:
        with pytest.raises(MriGanError, match=f"pid {os.getpid()} "):
            FolderLock(tmp_path / "mine").acquire()
        assert first.fd is not None
    _write_lock(tmp_path / "by_pid", os.getpid())
    with pytest.raises(MriGanError, match=f"pid {os.getpid()} "):
        FolderLock(tmp_path / "by_pid").acquire()


def test_other_host_refuses_with_the_file_to_delete(tmp_path):
    _write_lock(tmp_path / "r", 1, host="elsewhere.example")
    with pytest.raises(MriGanError, match=r"pid 1 on elsewhere.example .*delete .*\.lock$"):
        FolderLock(tmp_path / "r").acquire()


def test_dead_holder_is_taken_over(tmp_path, capsys):
    """The lock of a finished process (its pid, as kill -9 leaves it), an empty lock file (power
    loss) and one of the previous boot are taken over with one note; the lock then names us."""
    dead = _dead_pid()
    for name, content in [("dead", None), ("empty", ""), ("garbage", "\x00\x13{not json")]:
        d = tmp_path / name
        if content is None:
            _write_lock(d, dead)
        else:
            d.mkdir()
            (d / LOCK_NAME).write_text(content)
        with FolderLock(d) as lock:
            assert json.loads((d / LOCK_NAME).read_text())["pid"] == os.getpid()
            assert lock.note and (f"pid {dead} " in lock.note if content is None else "unreadable" in lock.note)
        assert not (d / LOCK_NAME).exists()
        assert sorted(p.name for p in d.iterdir()) == []
    err = capsys.readouterr().err
    assert err.count("taken over") == 3 and len(err.splitlines()) == 3, err


@pytest.mark.slow
def test_lock_released_on_end_exception_and_ctrl_c_and_dead_lock_resumes(tmp_path, tiny_prep, capsys):
    """run_fit removes RUN/.lock when it ends, when a callback raises and on Ctrl-C; a lock left
    by a dead process does not block --resume."""
    import keras

    from mri_gan.gans.fit import run_fit

    run = tmp_path / "run"
    run_fit(tiny_prep, "glioma", run, tiny_cfg(), epochs=1, verbose=0)
    assert not (run / LOCK_NAME).exists()

    class Raise(keras.callbacks.Callback):
        def __init__(self, exc):
            super().__init__()
            self.exc = exc

        def on_train_batch_end(self, batch, logs=None):
            raise self.exc

    with pytest.raises(RuntimeError):
        run_fit(None, None, run, tiny_cfg(), resume=True, epochs=2, verbose=0, extra_callbacks=[Raise(RuntimeError())])
    assert not (run / LOCK_NAME).exists()
    with pytest.raises(KeyboardInterrupt):
        run_fit(None, None, run, tiny_cfg(), resume=True, epochs=2, verbose=0,
                extra_callbacks=[Raise(KeyboardInterrupt())])
    assert not (run / LOCK_NAME).exists()
    dead = _dead_pid()
    _write_lock(run, dead)
    capsys.readouterr()
    res = run_fit(None, None, run, tiny_cfg(), resume=True, epochs=2, verbose=0)
    assert res["start_epoch"] == 1 and res["start_batch"] == 1 and not (run / LOCK_NAME).exists()
    notes = [line for line in capsys.readouterr().err.splitlines() if "taken over" in line]
    assert len(notes) == 1 and f"pid {dead} " in notes[0]


def test_refused_new_run_leaves_no_folder(tmp_path, tiny_prep):
    from mri_gan.gans.fit import run_fit

    with pytest.raises(MriGanError, match="unknown class"):
        run_fit(tiny_prep, "dog", tmp_path / "new", tiny_cfg(), epochs=1, verbose=0)
    assert not (tmp_path / "new").exists()
