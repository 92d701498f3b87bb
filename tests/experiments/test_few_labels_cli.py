"""`mrigan-tf study configs/few-labels.yaml` end to end on a plain `ROOT/<class>/` tree of two
classes (not the four of the Kaggle dataset): prepared, subset, one tiny conditional GAN (the
config's choice) for both classes, synthetic sets, the four classifier arms, the table and the figure; run again, it has nothing left to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import synthetic_head

pytestmark = pytest.mark.slow  # real (tiny) GAN and classifier training in a child process, ~1-2 min

REPO = Path(__file__).resolve().parents[2]
SHRINK = ["data.size=16", "few_labels.ns=[8]", "few_labels.seeds=2", "few_labels.strong_ns=[]",
          "few_labels.gan_epochs=4", "few_labels.classic_epochs=[1,2]", "classifier.epochs=[1,2]",
          "classifier.batch_size=8", "gan.g_width=16", "gan.g_min_width=8", "gan.d_width=8", "gan.d_max_width=16",
          "gan.latent_dim=8", "train.batch_size=4", "synth.batch_size=8", "eval.feature_epochs=1",
          "eval.kid_subsets=5", "eval.kid_subset_size=4", "eval.ms_ssim_pairs=10", "eval.pr_k=2",
          "eval.worst_examples=2", "data.workers=1", "train.eval_every=0.016", "train.eval_n=16"]


def _plain_tree(root: Path, n: int = 30) -> Path:
    import cv2

    rng = np.random.default_rng(0)
    for ci, name in enumerate(["left_blob", "no_blob"]):
        d = root / name
        d.mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(d / f"{name}_{i:03d}.png"), synthetic_head(32, 0 if ci == 0 else 2, rng))
    return root


def _study(data: Path, out: Path) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "cli.main", "study", "configs/few-labels.yaml", "--data", str(data), "--out", str(out)]
    for s in SHRINK:
        args += ["-s", s]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def test_few_labels_study_on_a_plain_two_class_tree(tmp_path):
    data, out = _plain_tree(tmp_path / "plain"), tmp_path / "study"
    p = _study(data, out)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-3000:]

    table = json.loads((out / "few_labels.json").read_text())
    rows = {(r["n"], r["arm"]): r for r in table["rows"]}
    # the config's arms with fakes use them for the first half of their epochs (classifier.synthetic_share);
    # the arms without train as many optimizer steps: epochs [1, 2] x 1.5 -> [2, 3]
    assert set(rows) == {("8", a) for a in ("real-x1.5", "classic-x1.5", "synthetic-none-r1-first0.5",
                                            "classic+synthetic-none-r1-first0.5")}
    assert rows[("8", "classic+synthetic-none-r1-first0.5")]["baselines"] == {"real": "real-x1.5",
                                                                            "classic": "classic-x1.5"}
    for r in rows.values():
        assert len(r["accuracy"]["values"]) == 2 and all(0.0 <= v <= 1.0 for v in r["accuracy"]["values"])
    # one conditional GAN for the two classes of the tree, trained on their 8 + 8 subset images
    done = json.loads((out / "gan" / "n8" / "conditional" / "done.json").read_text())
    assert done["images"] == 16 and done["classes"] == ["left_blob", "no_blob"]
    for cls in ("left_blob", "no_blob"):
        fakes = sorted((out / "syn" / "n8" / "none-r1" / cls / cls).glob("*.png"))
        assert len(fakes) == 8  # ratio 1: one fake per real image
    md = (out / "few_labels.md").read_text()
    assert "| 8 | left_blob (conditional) |" in md and "| 8 | no_blob (conditional) |" in md  # GAN quality a class
    assert (out / "few_labels.png").stat().st_size > 0
    hist = [json.loads(x) for x in (out / "clf" / "n8" / "paper" / "synthetic-none-r1-first0.5" / "history.jsonl")
            .read_text().splitlines()]
    assert {(h["epoch"], h["trained_on"]) for h in hist if h["condition"] == "real+synthetic"} == {
        (1, "real+synthetic"), (2, "real")}

    # a second run finds every cell finished
    before = {p: p.stat().st_mtime_ns for p in (out / "clf").rglob("results.json")}
    again = _study(data, out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in (out / "clf").rglob("results.json")} == before
    log = (out / "study.log").read_text().split("--- ")  # one part per run
    assert len(log) == 3 and "[study] fit conditional (left_blob, no_blob)" in log[1] and "[study] classify" in log[1]
    assert "[study] fit" not in log[2] and "[study] classify" not in log[2] and "[study] synthesize" not in log[2]
    assert f"table: {out / 'few_labels.md'}" in again.stdout and "N = 8 per class, 4 arm(s) scored" in again.stdout
