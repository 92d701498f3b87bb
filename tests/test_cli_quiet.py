"""Quiet, quick commands: a wrong path or class is answered in one line before TensorFlow loads;
TensorFlow's start-up chatter stays hidden unless `mrigan-tf --verbose`; `study`/`demo` show one
progress bar per stage and a summary line, with every other line in DIR/study.log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What TensorFlow's C++ libraries print while they load, on a machine without a GPU.
CHATTER = ("absl::InitializeLog", "oneDNN", "cuda drivers", "cuInit", "cpu_feature_guard", "rebuild TensorFlow")


def _env():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# Runs the CLI in a fresh interpreter and reports whether TensorFlow or Keras got imported.
RUN_CLI = ("import sys\nfrom cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
           "print('loaded:', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
           "sys.exit(code)\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quiet")
    prep = tmp / "prep"
    (prep / "train" / "glioma").mkdir(parents=True)
    (prep / "prepare.json").write_text(json.dumps({"size": 32, "classes": ["glioma", "notumor"]}))
    run = tmp / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"class": "glioma", "classes": ["glioma"],
                                              "class_names": ["glioma", "notumor"], "conditional": False}))
    return tmp, prep, run


CASES = [
    ("fit", "--data {tmp}/nope --class glioma --out {tmp}/o", "prepared dir not found"),
    ("fit", "--data {prep} --class gliomaa --out {tmp}/o", "unknown class 'gliomaa'"),
    ("fit", "--resume {tmp}/nothing", "nothing to resume"),
    ("synthesize", "{run} --class notumor --out {tmp}/o", "trained on 'glioma' only"),
    ("synthesize", "{tmp}/nope --out {tmp}/o", "run or export dir not found"),
    ("classify", "--data {tmp}/nope --out {tmp}/o", "prepared dir not found"),
    ("evaluate", "--real {tmp}/nope --fake {tmp} --out {tmp}/o.json", "--real directory not found"),
    ("predict", "{tmp}/model.keras {tmp}/a.png", "model not found"),
    ("compare", "--data {prep} --classes meningioma --out {tmp}/o", "class 'meningioma' is not in"),
    ("evaluate", "--real {prep} --fake {prep} --out {tmp}/o.txt", "--out must be a .json file"),
    ("export", "{tmp}/nope --out {tmp}/o", "run dir not found"),
    ("export", "{prep} --out {tmp}/o", "is neither a GAN run"),
    ("study", "configs/quick.yaml --data {tmp}/nope --out {tmp}/o", "data root not found"),
]


@pytest.mark.parametrize("command,args,message", CASES, ids=[f"{c}-{m.split()[0]}" for c, _, m in CASES])
def test_a_wrong_path_or_class_is_one_line_before_tensorflow_loads(inputs, command, args, message):
    tmp, prep, run = inputs
    argv = [command, *args.format(tmp=tmp, prep=prep, run=run).split()]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", RUN_CLI, *argv], cwd=ROOT, env=_env(), capture_output=True, text=True,
                       timeout=60)
    wall = time.perf_counter() - t0
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().splitlines() == [p.stderr.strip()] and p.stderr.startswith("Error: "), p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr
    assert "loaded: []" in p.stdout  # neither TensorFlow nor Keras: the check came first
    assert wall < 3.0, f"{wall:.1f} s to answer {argv}"  # typically 0.2-1 s; 3 s leaves room for a busy machine


@pytest.mark.slow  # imports TensorFlow in a fresh process: 10-30 s
def test_tensorflow_loads_without_chatter():
    pytest.importorskip("tensorflow")  # only checks that it is installed; this process may load it
    code = ("from cli.common import quiet_tensorflow\nquiet_tensorflow()\nimport tensorflow as tf\n"
            "print(float(tf.reduce_sum(tf.ones(3))))\n")  # an op: cuInit and the CPU feature guard run on first use
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == "3.0", p.stderr
    assert not [line for line in p.stderr.splitlines() if any(c in line for c in CHATTER)], p.stderr


def test_verbose_leaves_tensorflow_alone():
    code = ("import os, sys, click\nfrom cli.common import _SilentImport, quiet_tensorflow\n"
            "with click.Context(click.Command('x'), obj={'verbose': True}):\n    quiet_tensorflow()\n"
            "print(any(isinstance(f, _SilentImport) for f in sys.meta_path), os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n"
            "quiet_tensorflow()\n"
            "print(any(isinstance(f, _SilentImport) for f in sys.meta_path), os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert p.stdout.split("\n")[:2] == ["False None", "True 3"], p.stderr


def _fake_study(stages=("audit", "prepare", "fit", "classify", "report"), epochs=40):
    """A stand-in for run_study that talks like the real one: progress lines through `log`,
    Keras' per-epoch lines on stdout, a warning on stderr."""

    def run_study(cfg, data_root, out, log=None):
        for stage in stages:
            log(f"stage {stage} ...")
            for unit in ("glioma", "notumor"):
                log(f"{stage} {unit} at 32 px -> {out}/{stage}/{unit}")
                for e in range(1, epochs + 1):
                    print(f"Epoch {e}/{epochs}")
                    print(f"2/2 - 0s - 116ms/step - d_loss: 0.{e:04d} - g_loss: 1.{e:04d}")
                print("UserWarning: something inside", file=sys.stderr)
        return {"stages": {s: {"status": "ran", "seconds": 1.0} for s in stages}}

    return run_study


def test_demo_prints_a_bar_per_stage_and_a_summary(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mri_gan.experiments.study as study_module
    from cli.main import cli

    monkeypatch.setattr(study_module, "run_study", _fake_study())
    out = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    lines = [line.rsplit("\r", 1)[-1] for line in r.output.split("\n") if line.strip()]  # as a terminal shows them
    assert len(lines) == 5 + 1, r.output  # a bar per stage, redrawn in place (\r), and one summary line
    assert "Epoch" not in r.output and "d_loss" not in r.output and "UserWarning" not in r.output
    assert [line.split()[0] for line in lines[:-1]] == ["audit", "prepare", "fit", "classify", "report"]
    assert "2/2" in lines[1] and "4/4" in lines[3] and "2 steps" in lines[2]  # units done (fit's count unknown here)
    assert f"report: {out / 'report.html'}" in lines[-1] and f"full log: {out / 'study.log'}" in lines[-1]
    log = (out / "study.log").read_text()
    assert log.count("Epoch ") == 5 * 2 * 40 and log.count("UserWarning") == 10 and "[study] stage fit ..." in log


def test_verbose_demo_prints_everything(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mri_gan.experiments.study as study_module
    from cli.main import cli

    monkeypatch.setattr(study_module, "run_study", _fake_study(stages=("fit",), epochs=3))
    r = CliRunner().invoke(cli, ["--verbose", "demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    assert r.output.count("Epoch ") == 6 and "[study] stage fit ..." in r.output
    assert not (tmp_path / "demo" / "study.log").exists()


def test_a_failing_stage_names_the_log(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mri_gan.experiments.study as study_module
    from cli.main import cli
    from mri_gan.errors import MriGanError

    def run_study(cfg, data_root, out, log=None):
        log("stage fit ...")
        print("Epoch 1/3")
        raise MriGanError("a NaN loss at epoch 1")

    monkeypatch.setattr(study_module, "run_study", run_study)
    r = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 1 and "Error: a NaN loss at epoch 1" in r.output and "Traceback" not in r.output
    assert f"full log: {tmp_path / 'demo' / 'study.log'}" in r.output and "Epoch" not in r.output
    assert sys.stdout is not None and "Epoch 1/3" in (tmp_path / "demo" / "study.log").read_text()
