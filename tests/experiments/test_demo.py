"""`mrigan-tf demo`: the quick study on the bundled sample (assets/sample)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]

SHRINK = ["data.size=16", "study.sizes=[16]", "gan.g_width=16", "gan.g_min_width=8", "gan.d_width=8",
          "gan.d_max_width=16", "gan.latent_dim=8", "train.epochs=1", "train.batch_size=8", "synth.n=8",
          "study.n_synthetic=[8]", "study.n_synthetic_notumor=[6]", "study.gan_classes=[glioma,notumor]",
          "classifier.epochs=[1]", "classifier.batch_size=16", "eval.feature_epochs=1", "eval.kid_subsets=5",
          "eval.kid_subset_size=6", "eval.ms_ssim_pairs=10", "eval.pr_k=2", "compare.n=8", "compare.kinds=[proposed]"]


def _sets(args):
    return [x for s in args for x in ("-s", s)]


def test_demo_dry_run_resolves_quick_config_on_the_sample(tmp_path):
    from cli.main import cli

    r = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d"), "--dry-run", "-s", "train.epochs=3"])
    assert r.exit_code == 0, r.output
    assert "epochs: 3" in r.output and "size: 32" in r.output  # quick.yaml's size, the override's epochs
    assert not (tmp_path / "d").exists()  # a dry run writes nothing


@pytest.mark.slow
def test_demo_runs_the_study_on_the_sample(tmp_path):
    from cli.main import cli

    out = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["demo", "--out", str(out), *_sets(SHRINK)])
    assert r.exit_code == 0, r.output
    assert f"report: {out / 'report.html'}" in r.output and (out / "report.md").is_file()
    t3 = json.loads((out / "tables" / "table3.json").read_text())["rows"]
    assert {(row["class"], row["images"]) for row in t3} == {("glioma", 8), ("notumor", 6)}
    # the sample's images went in: the prepared dir's training images come from assets/sample/Training
    n_sample = len(list((ROOT / "assets" / "sample" / "Training").rglob("*.jpg")))
    n_prep = len(list((out / "prep" / "s16-shipped" / "train").rglob("*.png")))
    assert 0 < n_prep <= n_sample
