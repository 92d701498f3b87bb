"""Ctrl-C and SIGTERM in `mrigan-tf classify`: the seeds finished before stay in results.json, the
process exits 130 / 143 with one line, and `--resume` ends with the numbers of an uninterrupted
run (each seed's training depends only on its seed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# slow (`pytest -m slow`, run by CI after the default suite): classify runs in child processes, interrupted and resumed
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SEEDS = 3


def _cfg():
    from mri_gan.config import Config

    cfg = Config()
    cfg.classifier.epochs, cfg.classifier.seeds = [1, 2], SEEDS
    return cfg


@pytest.fixture(scope="module")
def prep_and_straight(tmp_path_factory):
    from conftest import make_prep
    from mri_gan.classifier.train import run_classify

    root = tmp_path_factory.mktemp("classify")
    prep = make_prep(root / "prep")
    return prep, run_classify(prep, root / "straight", _cfg(), verbose=0)


@pytest.mark.parametrize("signum, code, said", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                (signal.SIGINT, 130, "interrupted")])
def test_signal_keeps_finished_seeds_and_resume_equals_straight(tmp_path, prep_and_straight, signum, code, said):
    from mri_gan.classifier.train import run_classify

    prep, straight = prep_and_straight
    out = tmp_path / "run"
    args = [sys.executable, "-m", "cli.main", "classify", "--data", str(prep), "--out", str(out), "--epochs", "1,2",
            "--seeds", str(SEEDS)]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # Ctrl-C on, as in a terminal
    deadline = time.monotonic() + 300
    while not (out / "results.json").is_file():  # seed 0 is done: the signal comes while seed 1 trains
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"classify ended before its first seed was done: {child.communicate()[1][-2000:]}")
        time.sleep(0.05)
    child.send_signal(signum)
    _, err = child.communicate(timeout=120)
    assert child.returncode == code and "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if said in line or "interrupted" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{said} during seed "), err[-3000:]
    done = json.loads((out / "results.json").read_text())["seeds_done"]
    assert f"{out / 'results.json'} with seeds {done}; continue with" in lines[0] and "--resume" in lines[0]
    assert 1 <= len(done) < SEEDS, "the run ended before the signal came: nothing was tested"

    resumed = run_classify(prep, out, _cfg(), resume=True, verbose=0)
    assert resumed["seeds_resumed"] == done and resumed["seeds_done"] == list(range(SEEDS))
    for key in ("runs",):
        for r, q in zip(resumed[key], straight[key], strict=True):
            assert (r["seed"], r["epoch"], r["confusion"], r["accuracy"]) == (q["seed"], q["epoch"], q["confusion"],
                                                                              q["accuracy"])
    for r, q in zip(resumed["best_val"]["runs"], straight["best_val"]["runs"], strict=True):
        assert (r["seed"], r["epoch"], r["confusion"]) == (q["seed"], q["epoch"], q["confusion"])
    assert resumed["summary"] == straight["summary"]
