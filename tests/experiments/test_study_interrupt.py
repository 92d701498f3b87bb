"""SIGTERM (or Ctrl-C) in `mrigan-tf study`: one line naming the stage, exit 143 (130), and running
the same command again continues: finished stages are skipped and the interrupted GAN run goes on
from its checkpoint (the epochs it had finished stay as they were)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.experiments.test_study import TINY, make_raw

# slow (`pytest -m slow`, run by CI after the default suite): a study run in a child process, stopped and run again
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 40  # one batch an epoch: long enough for the signal to land inside the fit stage

SMALL = {**TINY, "train": {**TINY["train"], "epochs": EPOCHS},
         "classifier": {"epochs": [1], "seeds": 1, "batch_size": 8},
         "study": {**TINY["study"], "real_splits": ["dedup"], "gan_classes": ["glioma"], "tstr": False,
                   "compare": False}}


def test_sigterm_in_study_is_one_line_143_and_rerun_continues(tmp_path):
    raw = make_raw(tmp_path / "raw")
    cfg = tmp_path / "small.yaml"
    cfg.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "cli.main", "study", str(cfg), "--data", str(raw), "--out", str(out)]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not list(out.rglob("ckpt-*.index")):  # the GAN has a checkpoint: the fit stage runs
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"study ended before its GAN had a checkpoint: {child.communicate()[1][-2000:]}")
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 143 and "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if "SIGTERM" in line or "interrupted" in line or "Error" in line]
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith(f"terminated (SIGTERM) during stage fit: {out} keeps the finished stages and units; "
                               f"run the same command again to continue"), lines[0]
    run = next(out.rglob("ckpt-*.index")).parent.parent
    before = (run / "history.jsonl").read_text().splitlines()
    assert len(before) < EPOCHS, "the GAN finished before the signal came: nothing was tested"
    assert not (run / ".lock").exists()

    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    after = (run / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in after] == list(range(1, EPOCHS + 1))
    assert after[:len(before)] == before  # the epochs finished before the signal were not trained again
    assert "prepare    done already" in again.stderr, again.stderr[-3000:]
