"""`fit`/`synthesize`/`export` CLI: bad paths and arguments give one-line errors, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import cli

TINY = ["-s", "gan.g_width=32", "-s", "gan.g_min_width=8", "-s", "gan.d_width=8", "-s", "gan.d_max_width=32",
        "-s", "gan.latent_dim=16", "-s", "train.batch_size=8", "-s", "train.sample_every=0"]


def _fails(args, match):
    r = CliRunner().invoke(cli, args)
    out = r.output  # click >= 8.2 mixes stderr into output
    assert r.exit_code != 0, out
    assert "Traceback" not in out and (r.exception is None or isinstance(r.exception, SystemExit)), out
    errors = [line for line in out.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and match in errors[0], out
    return errors[0]


def test_bad_inputs(tmp_path, tiny_prep):
    missing = str(tmp_path / "nope")
    _fails(["fit", "--data", missing, "--class", "glioma", "--out", str(tmp_path / "r1")], "not found")
    _fails(["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", str(tmp_path / "r2"), "--size", "64"],
           "does not match")
    _fails(["fit", "--data", str(tiny_prep), "--class", "dog", "--out", str(tmp_path / "r3")], "unknown class")
    _fails(["fit", "--data", str(tiny_prep), "--out", str(tmp_path / "r4")], "--class is required")
    _fails(["fit", "--data", str(tiny_prep), "--class", "glioma"], "--out")
    _fails(["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", str(tmp_path / "r5"),
            "--strategy", "bogus"], "bogus")
    _fails(["fit", "--resume", str(tmp_path / "r6")], "nothing to resume")
    _fails(["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", str(tmp_path / "r7"),
            "-s", "train.batch_size=64"], "fewer than train.batch_size")
    _fails(["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", str(tiny_prep)], "not a GAN run")
    _fails(["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", str(tmp_path / "r8"),
            "-s", "gan.kind=stylegan"], "gan.kind")
    _fails(["synthesize", missing, "--out", str(tmp_path / "s")], "not found")
    _fails(["synthesize", str(tiny_prep), "--out", str(tmp_path / "s")], "neither a GAN run")
    _fails(["export", missing, "--out", str(tmp_path / "e")], "not found")
    _fails(["export", str(tiny_prep), "--out", str(tmp_path / "e")], "neither a GAN run")


def test_cli_fit_then_synthesize_export(tmp_path, tiny_prep):
    run = str(tmp_path / "run")
    r = CliRunner().invoke(cli, ["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", run,
                                 "--epochs", "1", *TINY])
    assert r.exit_code == 0, r.output
    assert "epochs 0->1" in r.output
    # a different config into the same run is refused, --resume continues with the saved one
    _fails(["fit", "--data", str(tiny_prep), "--class", "glioma", "--out", run, "--epochs", "2"], "different config")
    _fails(["fit", "--data", str(tiny_prep), "--class", "meningioma", "--out", run, *TINY], "trained on class")
    _fails(["synthesize", run, "--out", str(tmp_path / "s"), "--n", "0"], "synth.n must be >= 1, got 0")  # checked at load
    _fails(["synthesize", run, "--out", str(tmp_path / "s"), "--checkpoint", str(tmp_path / "ckpt-99")],
           "checkpoint not found")
    _fails(["synthesize", run, "--out", str(tmp_path / "s"), "--checkpoint", "best"], "no best checkpoint")
    # the default (synth.checkpoint auto) falls back to the newest checkpoint: this run measured nothing
    r = CliRunner().invoke(cli, ["synthesize", run, "--out", str(tmp_path / "s"), "--n", "3", "--seed", "1"])
    assert r.exit_code == 0 and "checkpoints/ckpt-" in r.output, r.output
    _fails(["synthesize", run, "--out", str(tmp_path / "s"), "--n", "3"], "not empty")
    r = CliRunner().invoke(cli, ["synthesize", run, "--out", str(tmp_path / "s"), "--n", "2", "--overwrite"])
    assert r.exit_code == 0 and len(list((tmp_path / "s" / "glioma").iterdir())) == 2, r.output


@pytest.mark.parametrize("cmd", ["fit", "synthesize", "export"])
def test_help(cmd):
    r = CliRunner().invoke(cli, [cmd, "--help"])
    assert r.exit_code == 0 and "Usage" in r.output
