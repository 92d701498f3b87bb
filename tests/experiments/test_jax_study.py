"""On the bundled sample, with KERAS_BACKEND=jax and in
one process that never imports TensorFlow, `fit` with the in-training quality monitor, then
`synthesize`, `evaluate`, `compare` and `study configs/quick.yaml` (all shrunk to 16 px and an
epoch or two) run and write their metric lines and result files."""

from __future__ import annotations

import csv
import json
import textwrap

import pytest

from tests.jax_runner import CLI_PRELUDE, needs_jax, result, run_jax

# slow (`pytest -m slow`, run by CI after the default suite): monitor, evaluate, compare and a study end to end on JAX in a child process
pytestmark = pytest.mark.slow

SHRINK = ["gan.g_width=16", "gan.g_min_width=8", "gan.d_width=8", "gan.d_max_width=16", "gan.latent_dim=8",
          "train.batch_size=8", "synth.batch_size=8", "eval.feature_epochs=1", "eval.kid_subsets=5",
          "eval.kid_subset_size=6", "eval.ms_ssim_pairs=10", "eval.pr_k=2", "eval.worst_examples=2"]
STUDY = ["data.size=16", "study.sizes=[16]", "train.epochs=1", "synth.n=8", "study.n_synthetic=[8]",
         "study.n_synthetic_notumor=[6]", "study.gan_classes=[glioma]", "study.real_splits=[dedup]",
         "classifier.epochs=[1]", "classifier.seeds=1", "classifier.batch_size=16", "compare.n=8",
         "compare.kinds=[proposed]", "train.eval_every=0", "data.workers=1", "study.tstr=false"]

CHILD = CLI_PRELUDE + textwrap.dedent("""
    work, shrink, study = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    S = [x for s in shrink for x in ("-s", s)]

    run("prepare", "assets/sample", "--out", f"{work}/prep", "--size", "16", "--workers", "1")
    # 40 glioma images = 0.04 kimg per epoch: the monitor measures at both epoch ends
    run("fit", "--data", f"{work}/prep", "--class", "glioma", "--out", f"{work}/run", "--epochs", "2",
        "-c", "configs/quick.yaml", *S, "-s", "train.eval_every=0.02", "-s", "train.eval_n=16")
    run("synthesize", f"{work}/run", "--out", f"{work}/syn", "--n", "12", "--seed", "1")
    run("evaluate", "--real", f"{work}/prep/train/glioma", "--fake", f"{work}/syn/glioma",
        "--out", f"{work}/eval/glioma.json", "--prep", f"{work}/prep", "-c", "configs/quick.yaml", *S)
    run("compare", "--data", f"{work}/prep", "--out", f"{work}/cmp", "--epochs", "1", "--n", "8",
        "--kinds", "proposed", "--classes", "glioma", "-c", "configs/quick.yaml", *S)
    run("study", "configs/quick.yaml", "--data", "assets/sample", "--out", f"{work}/study",
        *S, *[x for s in study for x in ("-s", s)])
    print("RESULT " + json.dumps({"tensorflow": sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow")[:3]}))
""")


@needs_jax
def test_monitor_evaluate_compare_study_on_jax_without_tensorflow(tmp_path):
    from mri_gan.utils import read_json, read_jsonl

    r = result(run_jax(["-c", CHILD, tmp_path, json.dumps(SHRINK), json.dumps(STUDY)], timeout=600))
    assert r["tensorflow"] == []
    rows = read_jsonl(tmp_path / "run" / "metrics.jsonl")  # the quality monitor
    assert [m["epoch"] for m in rows] == [1, 2]
    for m in rows:
        assert m["n_fake"] == 16 and {"kid", "fid", "recall", "ms_ssim_ratio", "nearest_ssim", "copy_rate"} <= set(m)
    assert read_json(tmp_path / "run" / "checkpoints" / "best" / "checkpoint.json")["backend"] == "jax"
    with open(tmp_path / "syn" / "manifest.csv", encoding="utf-8") as f:  # synth.checkpoint auto: the best-KID .npz
        (ckpt,) = {row["checkpoint"] for row in csv.DictReader(f)}
    assert "/checkpoints/best/ckpt-" in ckpt and (tmp_path / "run" / "checkpoints" / "best" / (ckpt.rsplit("/", 1)[1] + ".npz")).is_file()
    ev = read_json(tmp_path / "eval" / "glioma.json")
    assert ev["counts"]["fake"] == 12 and 0 < ev["ssim"]["nearest"]["mean"] <= 1 and ev["kid"] is not None
    assert len(read_jsonl(tmp_path / "eval" / "metrics.jsonl")) == 1 and (tmp_path / "eval" / "glioma_copies.png").is_file()
    t6 = json.loads((tmp_path / "cmp" / "table6.json").read_text())["rows"]
    assert [(row["category"], row["kind"]) for row in t6] == [("glioma", "proposed")]
    assert (tmp_path / "cmp" / "samples.png").is_file()
    study = tmp_path / "study"
    assert all(s["status"] in ("ran", "disabled") for s in read_json(study / "study.json")["stages"].values())
    for name in ("table3", "table4", "table5", "table6"):
        assert (study / "tables" / f"{name}.json").is_file(), name
    assert (study / "report.md").is_file() and (study / "report.html").is_file()
    assert not list(study.rglob("tensorboard"))  # TensorBoard is TensorFlow's: skipped on JAX
