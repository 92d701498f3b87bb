"""A write error (disk full, a file size limit) on each writer of a run: a checkpoint, a sample grid,
a history line, a synthesized image, a classify results file. Each gives one line naming what
could not be written and what was kept, leaves no temporary file, and the run continues from its
last good state.

The checkpoint test makes TensorFlow's own write fail (a file size limit, RLIMIT_FSIZE, set in a
`mrigan-tf fit` process before its second checkpoint: the kernel refuses the write with EFBIG as
a full disk refuses it with ENOSPC). The others make `os.fsync` of the chosen file fail with
ENOSPC, where a full disk with delayed allocation reports it, after the bytes went out."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.errors import MriGanError
from mri_gan.utils import read_jsonl

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 3
SETTINGS = {"gan.g_width": 16, "gan.g_min_width": 8, "gan.d_width": 8, "gan.d_max_width": 16, "gan.latent_dim": 8,
            "train.batch_size": 8, "train.sample_every": 0, "train.sample_grid": 2, "train.eval_every": 0,
            "train.jit_compile": "false", "train.ema": 0.9}


def _cfg() -> Config:
    from mri_gan.config import load_config

    return load_config(None, [f"{k}={v}" for k, v in SETTINGS.items()])


def _state(gan):
    ws = [np.array(w) for m in (gan.generator, gan.discriminator, gan.ema_generator) for w in m.weights]
    return ws + [np.array(gan.g_optimizer.iterations), np.array(gan.seed_generator.state)]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def _temporary(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.endswith(".tmp") or "_temp" in p.name or ".tmp" in p.name)


@pytest.fixture
def prep16(tiny_prep_factory):
    return tiny_prep_factory(size=16, n_train=24, n_test=2, classes=["glioma", "notumor"])


@pytest.fixture
def full_disk(monkeypatch):
    """`full_disk(lambda path: ...)`: from then on, a file whose path the test picks cannot be
    written (ENOSPC at its fsync); returns the list of paths refused."""
    real = os.fsync
    refused: list[str] = []
    picks = []

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd if isinstance(fd, int) else fd.fileno()}")
        if picks and picks[0](path):
            refused.append(path)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    def start(pick):
        picks[:] = [pick]
        return refused

    return start


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted run of the settings above (the resumed runs must end bit-equal to it)."""
    from conftest import make_prep
    from mri_gan.gans.fit import run_fit

    root = tmp_path_factory.mktemp("straight")
    prep = make_prep(root / "prep", size=16, n_train=24, n_test=2, classes=["glioma", "notumor"])
    return _state(run_fit(prep, "glioma", root / "run", _cfg(), epochs=EPOCHS, verbose=0)["gan"])


_CHILD = r"""
import resource, signal, sys
import mri_gan.gans.callbacks as cb
from cli.main import main

save = cb.EpochCheckpoint.on_epoch_end


def limited(self, epoch, logs=None):
    if epoch == 1:  # epoch 2's checkpoint: no file may grow past 4 KiB any more (the data file will)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of the signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return save(self, epoch, logs)


cb.EpochCheckpoint.on_epoch_end = limited
main(sys.argv[1:])
"""


@pytest.mark.slow
def test_checkpoint_write_error_is_one_line_leaves_no_temp_and_resumes(tmp_path, prep16):
    from conftest import fresh_fit

    run = tmp_path / "run"
    args = ["fit", "--data", str(prep16), "--class", "glioma", "--out", str(run), "--epochs", str(EPOCHS)]
    for k, v in SETTINGS.items():
        args += ["-s", f"{k}={v}"]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    p = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr[-3000:]
    lines = [line for line in p.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, p.stderr[-3000:]
    ckpts = run / "checkpoints"
    assert f"cannot write checkpoint {ckpts / 'ckpt-6'}: File too large; training stopped at epoch 2; " \
           f"kept: the last good checkpoint {ckpts / 'ckpt-3'}; continue with" in lines[0], lines[0]
    assert _temporary(run) == [] and not list(ckpts.glob("ckpt-6*")), sorted(os.listdir(ckpts))
    assert not (run / ".lock").exists()

    # resumed and uninterrupted runs each in a fresh process, as the failed one ran
    resumed, start = fresh_fit(run, SETTINGS, EPOCHS, resume=True)
    assert start == (1, 0)
    assert [r["epoch"] for r in read_jsonl(run / "history.jsonl")] == list(range(1, EPOCHS + 1))
    _assert_same(fresh_fit(tmp_path / "straight", SETTINGS, EPOCHS, data=prep16, cls="glioma")[0], resumed)


class _FailFrom:
    """A Keras callback that switches `full_disk` on at the start of epoch `epoch` (0-based)."""

    def __new__(cls, epoch, full_disk, pick):
        import keras

        class FailFrom(keras.callbacks.Callback):
            refused: list = []

            def on_epoch_begin(self, e, logs=None):
                if e == epoch:
                    FailFrom.refused = full_disk(pick)

        return FailFrom()


@pytest.mark.parametrize("what, pick", [("sample grid", lambda p: "/samples/" in p),
                                        ("history line", lambda p: p.endswith("history.jsonl"))])
def test_grid_or_history_write_error_stops_with_one_line_and_resumes(tmp_path, prep16, straight, full_disk,
                                                                      what, pick):
    from mri_gan.gans.fit import run_fit

    run = tmp_path / "run"
    fail = _FailFrom(1, full_disk, pick)
    with pytest.raises(MriGanError) as e:
        run_fit(prep16, "glioma", run, _cfg(), epochs=EPOCHS, verbose=0, extra_callbacks=[fail])
    said = str(e.value)
    assert len(said.splitlines()) == 1 and fail.refused
    target = run / "samples" / "epoch_0002.png" if what == "sample grid" else run / "history.jsonl"
    assert said.startswith(f"cannot write {target}: No space left on device; training stopped at epoch 2; "
                           f"kept: the last good checkpoint {run / 'checkpoints' / 'ckpt-3'}"), said
    assert _temporary(run) == []
    assert not (run / "samples" / "epoch_0002.png").exists()
    history = (run / "history.jsonl").read_text()
    assert history.endswith("\n") and len(read_jsonl(run / "history.jsonl")) == (2 if what == "sample grid" else 1)

    full_disk(lambda p: False)  # room again
    resumed = run_fit(None, None, run, _cfg(), resume=True, epochs=EPOCHS, verbose=0)
    _assert_same(straight, _state(resumed["gan"]))
    assert [r["epoch"] for r in read_jsonl(run / "history.jsonl")] == list(range(1, EPOCHS + 1))
    assert (run / "samples" / "epoch_0002.png").is_file()


def test_synthesize_write_error_keeps_whole_images_and_no_temp(tmp_path, prep16, full_disk):
    from mri_gan.gans.fit import run_fit
    from mri_gan.gans.synthesis import synthesize

    run = tmp_path / "run"
    run_fit(prep16, "glioma", run, _cfg(), epochs=1, verbose=0)
    out = tmp_path / "syn"
    full_disk(lambda p: "glioma_000005.png" in p)
    with pytest.raises(MriGanError) as e:
        synthesize(run, out, 8, seed=0, batch_size=4)
    said = str(e.value)
    assert len(said.splitlines()) == 1
    assert said.startswith(f"cannot write {out / 'glioma' / 'glioma_000005.png'}: No space left on device; "
                           f"kept: 5 whole image(s) in {out}, no manifest.csv"), said
    assert sorted(p.name for p in (out / "glioma").iterdir()) == [f"glioma_{i:06d}.png" for i in range(5)]
    assert not (out / "manifest.csv").exists() and _temporary(out) == []

    full_disk(lambda p: False)
    r = synthesize(run, out, 8, seed=0, batch_size=4, overwrite=True)
    assert r["files"] == 8 and (out / "manifest.csv").is_file()


@pytest.mark.slow
def test_classify_results_write_error_keeps_finished_seeds_and_resumes(tmp_path, tiny_prep, full_disk, capsys):
    """results.json cannot be written after seed 1: the one written after seed 0 stays, and
    --resume trains seed 1 only, to the numbers of an uninterrupted run."""
    import mri_gan.classifier.train as train

    def cfg():
        c = Config()
        c.classifier.epochs, c.classifier.seeds = [1, 2], 2
        return c

    ref = train.run_classify(tiny_prep, tmp_path / "ref", cfg(), verbose=0)
    out = tmp_path / "run"
    real_train_one = train._train_one

    def fail_from_seed_1(cond, seed, *a, **k):
        if seed == 1:
            full_disk(lambda p: p.endswith("results.json") or "/.results.json." in p)
        return real_train_one(cond, seed, *a, **k)

    train._train_one = fail_from_seed_1
    try:
        with pytest.raises(MriGanError) as e:
            train.run_classify(tiny_prep, out, cfg(), verbose=0)
    finally:
        train._train_one = real_train_one
    said = str(e.value)
    assert len(said.splitlines()) == 1
    assert said.startswith(f"cannot write {out / 'results.json'}: No space left on device; stopped during seed 1; "
                           f"kept: {out / 'results.json'} with seeds [0]; continue with"), said
    assert json.loads((out / "results.json").read_text())["seeds_done"] == [0] and _temporary(out) == []

    full_disk(lambda p: False)
    res = train.run_classify(tiny_prep, out, cfg(), resume=True, verbose=0)
    assert res["seeds_resumed"] == [0] and res["seeds_done"] == [0, 1]
    for r, q in zip(res["runs"], ref["runs"], strict=True):
        assert (r["seed"], r["epoch"], r["confusion"]) == (q["seed"], q["epoch"], q["confusion"])
        assert r["accuracy"] == q["accuracy"]
