"""`study.gan: conditional`: one conditional GAN per N (few-labels) or per size (tables) instead of
one per class, each class synthesized from it into the same per-class layout, selection rules
applied per class, and the GAN table read per class from the one run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from mri_gan.config import load_config
from mri_gan.errors import MriGanError
from tests.conftest import make_prep
from tests.experiments.test_few_labels import _results, _write_fakes

CLASSES = ["a_class", "b_class"]


# -- the key ---------------------------------------------------------------------------------

def test_study_gan_is_checked_at_load_with_the_key_named(tmp_path):
    from mri_gan.config_values import CHOICES
    from mri_gan.experiments.layout import STUDY_GANS

    assert CHOICES["study.gan"] == STUDY_GANS and load_config().study.gan == "per_class"
    assert load_config(None, ["study.gan=conditional"]).study.gan == "conditional"
    with pytest.raises(MriGanError, match=r"^study\.gan must be one of per_class \| conditional, got 'joint'$") as e:
        load_config(None, ["study.gan=joint"])
    assert "\n" not in str(e.value)
    f = tmp_path / "c.yaml"
    f.write_text("study:\n  gan: per_classes\n")
    with pytest.raises(MriGanError, match=r"c\.yaml: study\.gan must be one of per_class \| conditional, got 'per_classes'"):
        load_config(f)


@pytest.mark.parametrize("design", ["few_labels", "tables"])
def test_conditional_with_a_kind_without_a_conditional_form_is_one_line(tmp_path, design):
    from mri_gan.experiments.study import run_study

    cfg = load_config(None, [f"study.design={design}", "study.gan=conditional", "gan.kind=infogan"])
    with pytest.raises(MriGanError, match=r"^study\.gan: conditional needs a gan\.kind with a conditional form .*'infogan'$"):
        run_study(cfg, tmp_path, tmp_path / "out")


# -- the few-labels study with recorders -------------------------------------------------------

def _recorders(monkeypatch, calls):
    import mri_gan.classifier.train as train_mod
    import mri_gan.gans.fit as fit_mod
    import mri_gan.gans.synthesis as syn_mod

    def fake_fit(sub, cls, run, cfg, resume=False, verbose="auto", **kw):
        calls["fit"].append((Path(sub).name, cls, Path(run).name, cfg.train.kimg, cfg.gan.conditional))
        Path(run).mkdir(parents=True, exist_ok=True)
        return {"epochs": 1}

    def fake_synth(run, out, n, **kw):
        """Writes what synthesize writes: OUT/<class>/*.png + manifest.csv, the class being the one
        asked for (a conditional run) or the run's own (a run of one class: its dir name)."""
        cls = kw.get("class_name") or Path(run).name
        calls["synth"].append((Path(out).parent.name, Path(out).name, n, kw.get("class_name"), Path(run).name,
                               kw["selection"].rule))
        _write_fakes(Path(out), cls, n, len(calls["synth"]))
        return {}

    def fake_classify(sub, out, cfg, synthetic_dirs=(), **kw):
        from mri_gan.classifier.data import list_synthetic
        from mri_gan.data.pipeline import list_split

        _, _, names = list_split(sub, "train")
        syn, labels = list_synthetic(synthetic_dirs, names, 32, sub)
        calls["classify"].append((Path(out).parent.parent.name, Path(out).name,
                                  {c: int((labels == i).sum()) for i, c in enumerate(names)}))
        _results(Path(out), [0.5 + 0.01 * s for s in range(cfg.classifier.seeds)], cfg=cfg)
        return {}

    monkeypatch.setattr(fit_mod, "run_fit", fake_fit)
    monkeypatch.setattr(syn_mod, "synthesize", fake_synth)
    monkeypatch.setattr(train_mod, "run_classify", fake_classify)


def _cfg(gan: str):
    return load_config(None, ["study.design=few_labels", "data.size=32", "few_labels.ns=[4,8]", "few_labels.strong_ns=[]",
                              "few_labels.gan_epochs=100", "few_labels.seeds=2", "few_labels.ratios=[1,0.5]",
                              "few_labels.ratio_ns=[8]", "few_labels.arms=[real,synthetic]", f"study.gan={gan}"])


def test_conditional_study_fits_one_gan_per_n_and_keeps_the_per_class_layout(tmp_path, monkeypatch):
    """Two classes, N = 4 and 8: one conditional GAN per N on the budget of all classes' images;
    ratio x N fakes per class in OUT/syn/nN/<rule-ratio>/<class>/; the classifier sees as many
    fakes of each class as with one GAN per class; a re-run asks for nothing new."""
    from mri_gan.experiments.few_labels import run_few_labels

    prep = make_prep(tmp_path / "prep", n_train=12, n_test=4, classes=CLASSES)
    per_class = {"fit": [], "synth": [], "classify": []}
    _recorders(monkeypatch, per_class)
    run_few_labels(_cfg("per_class"), prep, tmp_path / "per_class")
    assert [c[:3] for c in per_class["fit"]] == [("n4", c, c) for c in CLASSES] + [("n8", c, c) for c in CLASSES]
    assert not any(c[4] for c in per_class["fit"])

    calls = {"fit": [], "synth": [], "classify": []}
    _recorders(monkeypatch, calls)
    out = tmp_path / "conditional"
    run_few_labels(_cfg("conditional"), prep, out)
    # one GAN per N, conditional, on every class (run_fit's "all"), gan_epochs x (2 classes x N) images
    assert [c[:3] for c in calls["fit"]] == [("n4", "all", "conditional"), ("n8", "all", "conditional")]
    assert all(c[4] is True for c in calls["fit"])
    assert [c[3] for c in calls["fit"]] == [pytest.approx(100 * 2 * 4 / 1000), pytest.approx(100 * 2 * 8 / 1000)]
    done = json.loads((out / "gan" / "n8" / "conditional" / "done.json").read_text())
    assert done["images"] == 16 and done["classes"] == CLASSES
    assert not (out / "gan" / "n4" / CLASSES[0]).exists()
    # each class drawn from the one run, ratio x N of it, into its own synthesize dir
    assert sorted(calls["synth"]) == sorted(
        [("none-r1", c, 4, c, "conditional", "none") for c in CLASSES]
        + [(f"none-r{r:g}", c, int(r * 8), c, "conditional", "none") for r in (1, 0.5) for c in CLASSES])
    for rule in ("none-r1", "none-r0.5"):
        for c in CLASSES:
            d = out / "syn" / "n8" / rule / c
            assert (d / "manifest.csv").is_file() and sorted(p.name for p in d.iterdir()) == sorted(["manifest.csv", c])
        assert set(json.loads((out / "syn" / "n8" / rule / "copies.json").read_text())) == set(CLASSES) | {"all"}
    # the classifier sees the same fakes per class as with one GAN per class
    assert calls["classify"] == per_class["classify"]
    assert ("n8", "synthetic-none-r0.5", {"a_class": 4, "b_class": 4}) in calls["classify"]
    # the study's config records the choice
    assert yaml.safe_load((out / "config.yaml").read_text())["study"]["gan"] == "conditional"
    # a re-run asks for nothing new
    before = {k: len(v) for k, v in calls.items()}
    run_few_labels(_cfg("conditional"), prep, out)
    assert {k: len(v) for k, v in calls.items()} == before


# -- the GAN table from a conditional run ------------------------------------------------------

def test_gan_quality_of_a_conditional_run_is_per_class_at_its_best_snapshot(tmp_path):
    from mri_gan.experiments.few_labels_report import gan_markdown, gan_quality

    run = tmp_path / "gan" / "n50" / "conditional"
    (run / "checkpoints" / "best").mkdir(parents=True)
    good = {"kid": 0.05, "recall": 0.5, "coverage": 0.5, "ms_ssim_ratio": 1.1, "nearest_ssim": 0.5, "copy_rate": 0.0}
    weak = {**good, "kid": 0.2, "recall": 0.3}  # 4/6
    rows = [{"epoch": 3, "kimg": 6.0, "worst_class": "b_class", **weak, "classes": {"a_class": good, "b_class": weak},
             "best": True},
            # the best snapshot: its worst class (a_class, 5/6) is better than the first row's (4/6)
            {"epoch": 6, "kimg": 12.0, "worst_class": "a_class", **{**good, "recall": 0.3},
             "classes": {"a_class": {**good, "recall": 0.3}, "b_class": {**good, "kid": 0.01}}, "best": True},
            {"epoch": 9, "kimg": 18.0, "worst_class": "a_class", **weak, "classes": {"a_class": weak, "b_class": good},
             "best": False}]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (run / "done.json").write_text(json.dumps({"seconds": 300.0}))
    for with_best_json in (False, True):
        if with_best_json:
            (run / "checkpoints" / "best" / "best.json").write_text(json.dumps(rows[1]))
        g = gan_quality(tmp_path)["50"]
        assert sorted(g) == CLASSES
        assert g["a_class"]["kimg"] == g["b_class"]["kimg"] == 12.0
        assert g["a_class"]["recall"] == 0.3 and g["a_class"]["targets_met"] == "5/6"
        assert g["b_class"]["kid"] == 0.01 and g["b_class"]["targets_met"] == "6/6"
        assert all(v["run"] == "conditional" and v["minutes"] == 5.0 and v["measurements"] == 3 for v in g.values())
    md = gan_markdown(gan_quality(tmp_path))
    assert "| 50 | a_class (conditional) | 12 | 0.05 |" in md and "| 5.0 (all classes) |" in md
    assert "| 50 | b_class (conditional) | 12 | 0.01 |" in md and md.count("same run") == 1


# -- the tables study ------------------------------------------------------------------------

def test_tables_study_fits_one_conditional_run_and_synthesizes_each_class_from_it(tmp_path, monkeypatch):
    import mri_gan.gans.fit as fit_mod
    import mri_gan.gans.synthesis as syn_mod
    from mri_gan.experiments.study import Study

    cfg = load_config(None, ["study.gan=conditional", "study.sizes=[32]", "study.gan_classes=[]", "study.n_synthetic=[3]"])
    assert not cfg.gan.conditional
    out = tmp_path / "study"
    make_prep(out / "prep" / "s32-dedup", n_train=4, n_test=2, classes=CLASSES)
    fits, synths = [], []
    monkeypatch.setattr(fit_mod, "run_fit", lambda prep, cls, run, c, resume=False: fits.append((cls, Path(run).name,
                                                                                                  c.gan.conditional)))
    monkeypatch.setattr(syn_mod, "synthesize", lambda run, o, n, **kw: synths.append((Path(run).name, Path(o).name, n,
                                                                                       kw["class_name"])))
    study = Study(cfg, tmp_path, out)
    assert [(name, classes) for name, _, classes in study.gan_runs(32)] == [("conditional", CLASSES)]
    study.stage_fit()
    study.stage_synthesize()
    assert fits == [("all", "conditional", True)]
    assert synths == [("conditional", c, 3, c) for c in CLASSES]


# -- selection on a real conditional run -------------------------------------------------------

def test_discriminator_selection_on_a_conditional_run_keeps_n_per_class(tmp_path, tiny_prep_factory):
    """A tiny conditional DCGAN (16 px, 1 epoch) trained by the few-labels study: its saved config
    says conditional; `--select discriminator` draws oversample x n candidates of each class, keeps
    the n its projection D scores highest as that class, and records each class in selection.json;
    the study's per-class sets do the same, one selection.json per class."""
    from mri_gan.config import load_saved
    from mri_gan.data.pipeline import to_uint8
    from mri_gan.experiments.few_labels import FewLabels
    from mri_gan.gans.selection import discriminator_scorer
    from mri_gan.gans.synthesis import Selection, load_generator, synthesize
    from tests.gans.test_conditional_dcgan import tiny_cfg

    prep = tiny_prep_factory(size=16, n_train=12, n_test=2, classes=["glioma", "notumor"])
    cfg = tiny_cfg(jit_compile=False)
    cfg.gan.conditional = False  # the study turns it on
    cfg.study.design, cfg.study.gan = "few_labels", "conditional"
    cfg.few_labels.gan_epochs = 1.0  # 0.024 kimg: one epoch of the 24 images
    cfg.synth.oversample = 2
    study = FewLabels(cfg, prep, tmp_path / "fl")
    runs = study.gans(prep, 12, ["glioma", "notumor"])
    run = tmp_path / "fl" / "gan" / "n12" / "conditional"
    assert runs == {"glioma": run, "notumor": run}
    assert load_saved(run / "config.yaml").gan.conditional
    assert json.loads((run / "run.json").read_text())["classes"] == ["glioma", "notumor"]
    assert json.loads((run / "done.json").read_text())["epochs"] == 1
    r = synthesize(run, tmp_path / "d", 3, seed=2, selection=Selection("discriminator", 3))
    assert r["classes"] == ["glioma", "notumor"] and r["files"] == 6
    rec = json.loads((tmp_path / "d" / "selection.json").read_text())
    assert rec["rule"] == "discriminator" and sorted(rec["classes"]) == ["glioma", "notumor"]
    with open(tmp_path / "d" / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    score, _ = discriminator_scorer(run)
    gen = load_generator(run)
    for label, name in enumerate(["glioma", "notumor"]):
        assert rec["classes"][name]["drawn"] == 9 and rec["classes"][name]["kept"] == 3
        kept = sorted(int(row["index"]) for row in rows if row["class"] == name)
        assert len(kept) == 3 and len(list((tmp_path / "d" / name).iterdir())) == 3
        cand = to_uint8(gen.generate(gen.latent(9, [2, label + 1]), np.full(9, label))[..., 0])
        s = score(cand, label)
        assert not np.allclose(s, score(cand, 1 - label))  # the label enters the score
        if rec["classes"][name].get("copies_dropped", 0) == 0:
            assert kept == sorted(np.argsort(-s, kind="stable")[:3].tolist())
    with pytest.raises(MriGanError, match="give its label"):
        score(cand)

    # the few-labels study: one synthesize dir per class, each with its own selection.json
    dirs = study.synthetic(prep, 12, runs, "discriminator", 0.25)
    assert [d.name for d in dirs] == ["glioma", "notumor"]
    for d in dirs:
        sel = json.loads((d / "selection.json").read_text())
        assert list(sel["classes"]) == [d.name] and sel["classes"][d.name]["drawn"] == 6
        assert len(list((d / d.name).iterdir())) == sel["classes"][d.name]["kept"] == 3
