"""`compare` end to end on a tiny prepared dir: tables with the right schema, resumability."""

from __future__ import annotations

import csv
import json

import numpy as np

import pytest

pytest.importorskip("tensorflow")

from mri_gan.config import load_config  # noqa: E402
from mri_gan.errors import MriGanError  # noqa: E402

# slow (`pytest -m slow`, run by CI after the default suite): compare trains every cell, then resumes
pytestmark = pytest.mark.slow

TINY = [
    "gan.latent_dim=8", "gan.g_width=16", "gan.g_min_width=4", "gan.d_width=4", "gan.d_max_width=8",
    "gan.info_categorical=3", "gan.info_continuous=1",
    "train.epochs=1", "train.batch_size=8", "train.sample_every=0", "train.sample_grid=2",
    "synth.batch_size=8", "compare.n=8", "compare.classes=[glioma]", "compare.kinds=[proposed,dcgan]",
    "data.size=32", "eval.feature_epochs=1", "eval.kid_subsets=5", "eval.kid_subset_size=8",
    "eval.ms_ssim_pairs=10", "eval.pr_k=3", "eval.worst_examples=2",
    "eval.shortlist_k=0",  # exhaustive nearest-real search: the SSIM column has one right answer
]


def _cfg(*extra):
    return load_config(None, TINY + list(extra))


def test_compare_tables_and_resume(tiny_prep, tmp_path):
    from mri_gan.experiments.compare import cell_dir, run_compare

    out = tmp_path / "cmp"
    first = run_compare(tiny_prep, out, _cfg(), progress=False)
    assert first["trained"] == ["glioma/proposed", "glioma/dcgan"] and first["skipped"] == []

    table = json.loads((out / "table6.json").read_text())
    rows = table["rows"]
    assert [(r["category"], r["method"]) for r in rows] == [("glioma", "Proposed"), ("glioma", "DCGAN")]
    _check_rows_against_images(tiny_prep, out, rows)
    assert table["meta"]["real_counts"] == {"glioma": 24}

    with open(out / "table6.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert csv_rows[0]["category"] == "glioma" and {"method", "ssim", "psnr", "fid", "recall"} <= set(csv_rows[0])
    md = (out / "table6.md").read_text()
    assert md.splitlines()[0].startswith("| Category | Method | SSIM | PSNR (dB) | FID |")
    assert md.count("| glioma |") == 2
    assert (out / "samples.png").stat().st_size > 1000
    for kind in ("proposed", "dcgan"):
        c = cell_dir(out, "glioma", kind)
        assert len(list((c / "syn" / "glioma").glob("*.png"))) == 8
        assert (c / "run" / "config.yaml").is_file()

    # second run: nothing retrained, results and checkpoints untouched
    marks = {k: (cell_dir(out, "glioma", k) / "result.json").stat().st_mtime_ns for k in ("proposed", "dcgan")}
    second = run_compare(tiny_prep, out, _cfg(), progress=False)
    assert second["trained"] == [] and second["skipped"] == ["glioma/proposed", "glioma/dcgan"]
    assert marks == {k: (cell_dir(out, "glioma", k) / "result.json").stat().st_mtime_ns for k in ("proposed", "dcgan")}
    assert json.loads((out / "table6.json").read_text())["rows"] == rows

    # a finished cell is not silently reused under a different training config
    with pytest.raises(MriGanError, match="another config"):
        run_compare(tiny_prep, out, _cfg("train.g_lr=0.001"), progress=False)


def test_cells_sample_the_end_of_the_budget():
    from mri_gan.experiments.compare import cell_config

    assert cell_config(_cfg(), "dcgan").synth.checkpoint == "last"  # auto -> the newest weights, same budget for all
    assert cell_config(_cfg("synth.checkpoint=best"), "dcgan").synth.checkpoint == "best"  # asked for: kept
    c = cell_config(_cfg("gan.conditional=true"), "wgan_gp")
    assert (c.gan.kind, c.gan.conditional) == ("wgan_gp", False)


def _check_rows_against_images(prep, out, rows):
    """Each Table VI row recomputed from what the cell wrote: its synthetic PNGs against the
    class's training images (exhaustive nearest-real SSIM and its PSNR, the Frechet distance of
    the cached feature classifier's features), its epochs and train time from history.jsonl."""
    from mri_gan.experiments.compare import cell_dir
    from mri_gan.metrics.features import model_extractor
    from mri_gan.utils import read_jsonl
    from tests.reference import frechet, nearest_ssim, read_pngs

    real = read_pngs(prep / "train" / "glioma")
    (model_path,) = (prep / ".cache").glob("feature_classifier_*.keras")
    scale = json.loads(model_path.with_suffix(".json").read_text())["feature_scale"]
    features = model_extractor(model_path)
    for r in rows:
        c = cell_dir(out, "glioma", r["kind"])
        fake = read_pngs(c / "syn" / "glioma")
        assert r["n"] == len(fake) == 8
        ssim, psnr = nearest_ssim(fake, real)
        # tf.image.ssim's own float32 rounding reaches 3.3e-5 (tests/metrics/test_ssim_backends.py)
        assert r["ssim"] == pytest.approx(ssim.mean(), abs=5e-5) and r["ssim_std"] == pytest.approx(ssim.std(), abs=5e-5)
        assert r["psnr"] == pytest.approx(psnr.mean(), abs=1e-3)
        assert r["fid"] == pytest.approx(frechet(features(real) * scale, features(fake) * scale), rel=1e-4)
        assert 0.0 <= r["precision"] <= 1.0 and 0.0 <= r["recall"] <= 1.0 and r["kid"] is not None
        assert r["copy_rate"] == pytest.approx(float(np.mean(ssim > r_copy_threshold(c))), abs=1e-9)
        hist = read_jsonl(c / "run" / "history.jsonl")
        assert r["epochs"] == len(hist) == 1
        assert r["train_s"] == pytest.approx(sum(h["seconds"] for h in hist), abs=0.051)


def r_copy_threshold(cell) -> float:
    """The pixel-SSIM copy threshold the cell's evaluation used (stored in its result)."""
    res = json.loads((cell / "result.json").read_text())["metrics"]
    return float(res["memorization"]["copy_threshold_ssim"])


def test_compare_bad_requests(tiny_prep, tmp_path):
    from mri_gan.experiments.compare import run_compare

    with pytest.raises(MriGanError, match="compare.kinds must be one of"):
        run_compare(tiny_prep, tmp_path / "a", _cfg("compare.kinds=[proposed,biggan]"), progress=False)
    with pytest.raises(MriGanError, match="not in"):
        run_compare(tiny_prep, tmp_path / "b", _cfg("compare.classes=[astrocytoma]"), progress=False)
    with pytest.raises(MriGanError, match="prepared at 32 px"):
        run_compare(tiny_prep, tmp_path / "c", _cfg("data.size=64"), progress=False)


def test_compare_cli_dry_run_and_bad_dir(tiny_prep, tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    r = CliRunner().invoke(cli, ["compare", "--data", str(tiny_prep), "--out", str(tmp_path / "o"),
                                 "--kinds", "dcgan,lsgan", "--classes", "glioma", "--epochs", "3", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "- dcgan" in r.output and "- lsgan" in r.output and "epochs: 3" in r.output and "size: 32" in r.output
    r = CliRunner().invoke(cli, ["compare", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "Traceback" not in r.output
