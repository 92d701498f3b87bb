"""The whole study end to end on a tiny synthetic raw dataset (16 px), and its resumption."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.conftest import CLASSES, synthetic_head

# slow (`pytest -m slow`, run by CI after the default suite): a whole study (GANs, synthesis, classifier arms, report) end to end
pytestmark = pytest.mark.slow

TINY = {
    "data": {"size": 16, "min_side": 16},
    "gan": {"latent_dim": 16, "g_width": 32, "g_min_width": 8, "d_width": 8, "d_max_width": 16},
    "train": {"epochs": 2, "batch_size": 8, "sample_every": 0, "sample_grid": 2, "precision": "auto"},
    "synth": {"batch_size": 8},
    "eval": {"kid_subsets": 5, "kid_subset_size": 6, "ms_ssim_pairs": 10, "feature_epochs": 1, "pr_k": 2,
             "shortlist_k": 0},  # exhaustive nearest-real search: the SSIM column has one right answer
    "classifier": {"epochs": [1, 2], "seeds": 2, "batch_size": 8},
    "study": {"sizes": [16], "split": "dedup", "real_splits": ["dedup", "shipped"], "gan_classes": [],
              "n_synthetic": [8], "n_synthetic_notumor": [6], "compare": True},
    "compare": {"kinds": ["proposed", "lsgan"], "classes": ["glioma"], "n": 8},
}


def make_raw(root, n_train=12, n_test=4, size=48):
    rng = np.random.default_rng(1)
    for split, n in (("Training", n_train), ("Testing", n_test)):
        for ci, name in enumerate(CLASSES):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(n):
                cv2.imwrite(str(d / f"{name}_{i}.jpg"), synthetic_head(size, ci, rng))
    return root


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    import yaml

    from mri_gan.config import load_config
    from mri_gan.experiments.study import run_study

    tmp = tmp_path_factory.mktemp("study")
    raw = make_raw(tmp / "raw")
    cfg_path = tmp / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(TINY))
    out = tmp / "study"
    first = run_study(load_config(cfg_path), raw, out)
    second = run_study(load_config(cfg_path), raw, out)
    return out, first, second


def _table(out, name):
    payload = json.loads((out / "tables" / f"{name}.json").read_text())
    assert (out / "tables" / f"{name}.md").is_file() and (out / "tables" / f"{name}.csv").is_file()
    for row in payload["rows"]:
        assert set(row) >= set(payload["columns"]), (name, row)
    return payload["rows"]


def test_study_runs_every_stage_and_writes_tables(study_run):
    from mri_gan.experiments.study import STAGES

    out, first, _ = study_run
    assert [first["stages"][s]["status"] for s in STAGES] == ["ran"] * len(STAGES)
    t3 = _table(out, "table3")
    assert {(r["class"], r["images"]) for r in t3} == {("glioma", 8), ("meningioma", 8), ("notumor", 6), ("pituitary", 8)}
    t4 = _table(out, "table4")
    assert sorted(r["class"] for r in t4) == CLASSES
    _check_table4(out, t4)
    t5 = _table(out, "table5")
    trainings = {(r["split"], r["training"], r["epoch"]) for r in t5}
    assert ("shipped", "real", 2) in trainings and ("dedup", "real+syn n8", 1) in trainings
    assert ("dedup", "syn-only n8", 2) in trainings
    assert all(r["seeds"] == 2 for r in t5)
    _check_table5(out, t5)
    t6 = _table(out, "table6")
    assert {(r["category"], r["kind"]) for r in t6} == {("glioma", "proposed"), ("glioma", "lsgan")}
    html = (out / "report.html").read_text()
    assert "Table V" in html and "data:image/png;base64," in html and 'src="figures' not in html
    md = (out / "report.md").read_text()
    assert "Table III" in md and "honest reading" in md
    assert md.count("one-vs-rest ROC curves of the best-validation model") == md.count("confusion matrix, ") > 0
    assert md.count("reliability diagram of the best-validation model") == md.count("confusion matrix, ")
    from mri_gan.precision import resolve_precision

    assert f"auto ({resolve_precision('auto', 'train.precision')} here)" in md  # the policy actually used


def _check_table4(out, t4):
    """Table IV against the images on disk: counts, nearest-real SSIM/PSNR and FID recomputed."""
    from mri_gan.metrics.features import model_extractor
    from tests.reference import first_number, frechet, nearest_ssim, read_pngs

    prep = out / "prep" / "s16-dedup"
    (model_path,) = (prep / ".cache").glob("feature_classifier_*.keras")
    scale = json.loads(model_path.with_suffix(".json").read_text())["feature_scale"]
    features = model_extractor(model_path)
    for r in t4:
        cls = r["class"]
        fake = read_pngs(out / "syn" / "s16" / r["set"] / cls / cls)
        real = read_pngs(prep / "train" / cls)
        assert (r["fakes"], r["reals"]) == (len(fake), len(real)) == (6 if cls == "notumor" else 8, len(real))
        ssim, psnr = nearest_ssim(fake, real)
        assert first_number(r["ssim"]) == pytest.approx(ssim.mean(), abs=6e-4), cls  # 3 digits shown
        assert first_number(r["psnr"]) == pytest.approx(psnr.mean(), abs=6e-3), cls
        fid = frechet(features(real) * scale, features(fake) * scale)
        assert first_number(r["fid"]) == pytest.approx(fid, rel=1e-3, abs=6e-3), cls


def _check_table5(out, t5):
    """Table V against the per-seed runs: accuracy = trace / sum of each confusion matrix, the
    mean over seeds, and accuracy_vs_real = the mean paired (same seed) difference."""
    from tests.reference import first_number

    run_dir = {"real": "real", "real+syn n8": "n8", "syn-only n8": "tstr-n8"}

    def per_seed(split, training, epoch):
        res = json.loads((out / "clf" / "s16" / split / run_dir[training] / "results.json").read_text())
        runs = [x for x in res["runs"] if x["epoch"] == epoch]
        n_test = len(list((out / "prep" / f"s16-{split}" / "test").rglob("*.png")))
        acc, bal = {}, {}
        for x in runs:
            cm = np.array(x["confusion"])
            assert cm.sum() == n_test
            acc[x["seed"]] = np.trace(cm) / cm.sum()
            assert x["accuracy"] == pytest.approx(acc[x["seed"]])
            present = cm.sum(axis=1) > 0  # balanced accuracy: the mean recall over the classes in the test split
            bal[x["seed"]] = np.mean(np.diag(cm)[present] / cm.sum(axis=1)[present])
        assert sorted(acc) == [0, 1]
        balanced[(split, training, epoch)] = np.mean(list(bal.values()))
        return acc

    balanced = {}

    for r in t5:
        acc = per_seed(r["split"], r["training"], r["epoch"])
        assert first_number(r["accuracy"]) == pytest.approx(np.mean(list(acc.values())), abs=6e-5), r
        assert first_number(r["balanced_accuracy"]) == pytest.approx(balanced[(r["split"], r["training"], r["epoch"])],
                                                                     abs=6e-5), r
        if r["training"] == "real":
            assert r["accuracy_vs_real"] in ("", None), r
        else:
            base = per_seed(r["split"], "real", r["epoch"])
            diff = np.mean([acc[s] - base[s] for s in acc])
            assert first_number(r["accuracy_vs_real"]) == pytest.approx(diff, abs=6e-5), r


def test_second_run_skips_every_stage(study_run):
    from mri_gan.experiments.study import STAGES

    _, _, second = study_run
    assert [second["stages"][s]["status"] for s in STAGES] == ["skipped"] * len(STAGES)


def test_study_cli_dry_run_and_bad_data(tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    r = CliRunner().invoke(cli, ["study", "configs/quick.yaml", "--data", str(tmp_path / "nope"), "--out",
                                 str(tmp_path / "o")])
    assert r.exit_code != 0 and "Traceback" not in r.output and "not found" in r.output
    r = CliRunner().invoke(cli, ["study", "configs/quick.yaml", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                                 "--dry-run", "-s", "train.epochs=3"])
    assert r.exit_code == 0 and "epochs: 3" in r.output
