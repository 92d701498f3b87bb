"""`mrigan-tf classify` through click: options reach the config, bad input is one line."""

import json

import yaml
from click.testing import CliRunner


def test_classify_cli_run_and_errors(tiny_prep, tmp_path):
    from cli.main import cli

    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["classify", "--data", str(tiny_prep), "--out", str(out), "--epochs", "1,2",
                                 "--seeds", "1", "-s", "classifier.batch_size=16"])
    assert r.exit_code == 0, r.output
    assert "test accuracy" in r.output
    res = json.loads((out / "results.json").read_text())
    assert res["epochs"] == [1, 2] and res["seeds"] == [0]
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["classifier"]["batch_size"] == 16 and saved["classifier"]["epochs"] == [1, 2]
    # an existing run dir is not overwritten silently
    r = CliRunner().invoke(cli, ["classify", "--data", str(tiny_prep), "--out", str(out), "--epochs", "1", "--seeds", "1"])
    assert r.exit_code == 1 and "not empty" in r.output and "Traceback" not in r.output
    # --resume continues it (here: nothing left to train) and says what it kept; other settings are refused
    args = ["classify", "--data", str(tiny_prep), "--out", str(out), "--epochs", "1,2", "--seeds", "1", "--resume"]
    r = CliRunner().invoke(cli, args + ["-s", "classifier.batch_size=16"])
    assert r.exit_code == 0 and "[0] kept from the earlier run" in r.output, r.output
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "cannot resume" in r.output and "classifier.batch_size (16 there, 32 now)" in r.output
    bad = tmp_path / "syn" / "astro"
    bad.mkdir(parents=True)
    (bad / "a.png").write_bytes(b"")
    r = CliRunner().invoke(cli, ["classify", "--data", str(tiny_prep), "--out", str(tmp_path / "r2"),
                                 "--synthetic", str(tmp_path / "syn"), "--epochs", "1", "--seeds", "1"])
    assert r.exit_code == 1 and "unknown class 'astro'" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(cli, ["classify", "--data", str(tiny_prep), "--out", str(tmp_path / "r3"), "--epochs", "0"])
    assert r.exit_code == 1 and "classifier.epochs" in r.output
