"""On the bundled sample, `KERAS_BACKEND=jax mrigan-tf prepare/fit/
synthesize/export --no-saved-model` works in one process that never imports TensorFlow."""

from __future__ import annotations

import textwrap

import pytest

from tests.jax_runner import CLI_PRELUDE, ROOT, needs_jax, result, run_jax

# slow (`pytest -m slow`, run by CI after the default suite): the CLI on JAX in child processes
pytestmark = pytest.mark.slow

CHILD = CLI_PRELUDE + textwrap.dedent("""
    work = sys.argv[1]

    run("prepare", "assets/sample", "--out", f"{work}/prep", "--size", "32")
    run("fit", "--data", f"{work}/prep", "--class", "glioma", "--out", f"{work}/run", "--epochs", "2",
        "-c", "configs/quick.yaml", "-s", "train.eval_every=0")
    run("synthesize", f"{work}/run", "--out", f"{work}/syn", "--n", "6", "--seed", "1")
    run("export", f"{work}/run", "--out", f"{work}/exp", "--no-saved-model")
    print("RESULT " + json.dumps({"tensorflow": sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow")[:3]}))
""")


@needs_jax
def test_jax_cli_on_the_sample_without_tensorflow(tmp_path):
    from mri_gan.utils import read_json, read_jsonl

    r = result(run_jax(["-c", CHILD, tmp_path], timeout=600))
    assert r["tensorflow"] == []
    assert [h["epoch"] for h in read_jsonl(tmp_path / "run" / "history.jsonl")] == [1, 2]
    index = read_json(tmp_path / "run" / "checkpoints" / "checkpoint.json")
    assert index["backend"] == "jax" and (tmp_path / "run" / "checkpoints" / f"{index['latest']}.npz").is_file()
    assert len(list((tmp_path / "syn" / "glioma").glob("*.png"))) == 6
    assert (tmp_path / "exp" / "generator.keras").is_file() and not (tmp_path / "exp" / "saved_model").exists()
    assert (ROOT / "assets" / "sample").is_dir()
