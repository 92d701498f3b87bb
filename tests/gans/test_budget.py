"""A GAN run's length: an explicit --epochs / --kimg on any command that trains a GAN, or a
train.epochs given in a config file or by -s without a kimg, is what runs, and --dry-run shows it
(mri_gan/gans/fit.py `set_budget`, cli/common.py `explicit_budget`)."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from cli.main import cli

TINY = ["-s", "gan.g_width=16", "-s", "gan.g_min_width=8", "-s", "gan.d_width=8", "-s", "gan.d_max_width=16",
        "-s", "gan.latent_dim=8", "-s", "train.batch_size=8", "-s", "train.sample_every=0", "-s", "train.eval_every=0"]


def _dry(args) -> dict:
    r = CliRunner().invoke(cli, [*args, "--dry-run"])
    assert r.exit_code == 0, r.output
    return yaml.safe_load(r.output)["train"]


def test_dry_run_shows_the_explicit_budget(tmp_path, tiny_prep):
    """`compare --epochs 1` and `fit --epochs 2` turn kimg off; --kimg replaces epochs; a CLI
    option beats a -s / config-file budget; a config file's train.epochs alone turns kimg off."""
    prep = str(tiny_prep)
    t = _dry(["compare", "--data", prep, "--out", str(tmp_path / "c"), "--epochs", "1"])
    assert (t["epochs"], t["kimg"]) == (1, 0.0)
    t = _dry(["compare", "--data", prep, "--out", str(tmp_path / "c"), "--kimg", "2.5"])
    assert t["kimg"] == 2.5
    t = _dry(["fit", "--data", prep, "--class", "glioma", "--out", str(tmp_path / "f"), "--epochs", "2"])
    assert (t["epochs"], t["kimg"]) == (2, 0.0)
    t = _dry(["fit", "--data", prep, "--class", "glioma", "--out", str(tmp_path / "f"), "--epochs", "2",
              "-s", "train.kimg=9"])
    assert (t["epochs"], t["kimg"]) == (2, 0.0)
    cfg = tmp_path / "budget.yaml"
    cfg.write_text("train:\n  epochs: 3\n")
    t = _dry(["compare", "--data", prep, "--out", str(tmp_path / "c"), "-c", str(cfg)])
    assert (t["epochs"], t["kimg"]) == (3, 0.0)


def test_fit_dry_run_shows_the_prepared_size(tmp_path, tiny_prep):
    """A new run trains at PREP's size, whatever data.size says, and --dry-run shows that size; a
    --size that differs is the one-line error `fit` gives."""
    import json

    size = json.loads((tiny_prep / "prepare.json").read_text())["size"]
    args = ["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", str(tmp_path / "f"), "-s", "data.size=96"]
    r = CliRunner().invoke(cli, [*args, "--dry-run"])
    assert r.exit_code == 0, r.output
    assert yaml.safe_load(r.output)["data"]["size"] == size != 96
    r = CliRunner().invoke(cli, [*args, "--size", str(size * 2), "--dry-run"])
    assert r.exit_code != 0 and f"does not match {tiny_prep}" in r.output


class _Planned(Exception):
    pass


def test_compare_epochs_is_what_each_cell_trains(tmp_path, tiny_prep, monkeypatch):
    """`compare --epochs 1` plans 1 epoch for its cell (it planned 480 kimg = 20,000 epochs of
    24 images); the run stops once the plan is known."""
    import mri_gan.gans.fit as fit
    import mri_gan.metrics.features as features

    planned = []
    real_epochs_for = fit.epochs_for

    def record(train, images_per_epoch):
        planned.append(real_epochs_for(train, images_per_epoch))
        raise _Planned

    monkeypatch.setattr(fit, "epochs_for", record)
    monkeypatch.setattr(features, "get_extractor", lambda *a, **k: None)
    r = CliRunner().invoke(cli, ["compare", "--data", str(tiny_prep), "--classes", "glioma", "--kinds", "dcgan",
                                 "--out", str(tmp_path / "c"), "--epochs", "1", "--n", "4", *TINY])
    assert isinstance(r.exception, _Planned), r.output
    assert planned == [1]


@pytest.mark.slow
def test_resume_obeys_an_explicit_budget(tmp_path, tiny_prep):
    """`fit --resume RUN -s train.epochs=2` trains the second epoch (the saved budget of 1 epoch
    used to win), and its --dry-run shows the saved config with that budget."""
    run = str(tmp_path / "run")
    r = CliRunner().invoke(cli, ["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", run,
                                 "--epochs", "1", *TINY])
    assert r.exit_code == 0 and "epochs 0->1" in r.output, r.output
    t = _dry(["fit", "--resume", run, "-s", "train.epochs=2"])
    assert (t["epochs"], t["kimg"], t["batch_size"]) == (2, 0.0, 8)
    r = CliRunner().invoke(cli, ["fit", "--resume", run, "-s", "train.epochs=2"])
    assert r.exit_code == 0 and "epochs 1->2" in r.output, r.output
    r = CliRunner().invoke(cli, ["fit", "--resume", run])  # no budget given: the saved one (now 2 epochs)
    assert r.exit_code == 0 and "epochs 2->2" in r.output, r.output
