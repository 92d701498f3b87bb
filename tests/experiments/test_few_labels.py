"""The few-labels study: nested subsets, selection rules on planted inputs, the paired table, the
skipping of finished cells, and synthetic images kept out of validation and test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mri_gan.config import Config, load_config
from mri_gan.errors import MriGanError
from tests.conftest import make_prep

# -- subsets ------------------------------------------------------------------------------------


def test_subsets_are_nested_seeded_and_disjoint_from_test(tmp_path):
    from mri_gan.data.pipeline import list_split
    from mri_gan.data.subsets import subset_paths, write_subset

    prep = make_prep(tmp_path / "prep", n_train=20, n_test=5)
    small, big = subset_paths(prep, 5, seed=3), subset_paths(prep, 12, seed=3)
    for cls in small:
        assert len(small[cls]) == 5 and len(big[cls]) == 12
        assert big[cls][:5] == small[cls]  # nested: the 12 begin with the 5
    assert subset_paths(prep, 5, seed=3) == small  # seeded: the same images again
    assert subset_paths(prep, 5, seed=4) != small  # another seed, another subset
    assert subset_paths(prep, 0, seed=3)["glioma"].__len__() == 20  # 0 = all
    assert len(subset_paths(prep, 50, seed=3)["glioma"]) == 20  # more than a class has: all of it

    sub = tmp_path / "sub"
    info = write_subset(prep, sub, 5, seed=3)
    assert info["subset_counts"]["train"] == {c: 5 for c in small}
    train, _, _ = list_split(sub, "train")
    test, _, _ = list_split(sub, "test")
    parent_test, _, _ = list_split(prep, "test")
    assert sorted(Path(p).name for p in test) == sorted(Path(p).name for p in parent_test)  # the whole test split
    parent_test_bytes = {Path(p).read_bytes() for p in parent_test}
    assert not any(Path(p).read_bytes() in parent_test_bytes for p in train)  # no test image in the subset
    assert sorted(Path(p).name for p in train) == sorted(Path(p).name for v in small.values() for p in v)
    assert write_subset(prep, sub, 5, seed=3) == info  # a no-op when it is there
    with pytest.raises(MriGanError, match="holds another subset"):
        write_subset(prep, sub, 6, seed=3)


def _prepare_again(prep: Path, key: str, change: Path | None = None) -> None:
    """What `prepare` does when its sources' file times change: the same images written anew (new
    files, a new key in prepare.json); `change`: one image whose bytes come out different."""
    import os

    for f in sorted(prep.glob("*/*/*.png")):
        data = f.read_bytes() if f != change else f.read_bytes()[:-1] + b"x"
        tmp = f.with_name(f.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, f)
    info = json.loads((prep / "prepare.json").read_text())
    info["key"] = key
    (prep / "prepare.json").write_text(json.dumps(info))


def test_a_subset_outlives_a_prepare_that_gives_the_same_images(tmp_path):
    from mri_gan.data.subsets import subset_paths, write_subset

    prep = make_prep(tmp_path / "prep", n_train=12, n_test=3)
    sub = tmp_path / "sub"
    info = write_subset(prep, sub, 5, seed=3)
    _prepare_again(prep, "another-key")  # same images, another key: the subset is kept
    again = write_subset(prep, sub, 5, seed=3)
    assert again["subset"]["key"] == "another-key" and again["key"] == info["key"]
    assert again["subset_counts"] == info["subset_counts"]
    assert write_subset(prep, sub, 5, seed=3) == again  # and from then on a no-op
    chosen = Path(subset_paths(prep, 5, seed=3)["glioma"][0])
    _prepare_again(prep, "a-third-key", change=chosen)  # one of its training images changed
    with pytest.raises(MriGanError, match="holds other images than .*prep holds now"):
        write_subset(prep, sub, 5, seed=3)


# -- selection rules on planted inputs ---------------------------------------------------------


def test_top_n_keeps_the_half_a_planted_discriminator_prefers():
    from mri_gan.gans.selection import top_n

    rng = np.random.default_rng(0)
    good = rng.permutation(20)[:10]
    scores = rng.normal(0, 1, 20)
    scores[good] += 10.0  # D rates a known half much higher
    assert sorted(top_n(scores, 10)) == sorted(good)
    assert list(top_n([1.0, 3.0, 3.0, 2.0], 2)) == [1, 2]  # ties: the earlier draw first


def test_inside_knn_balls_on_planted_points():
    from mri_gan.gans.selection import first_n_kept, inside_knn_balls

    real = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [10.0, 10.0], [11.0, 10.0]])
    # k = 1: radii 1, 1, 1, 1, 1 (each point's nearest other point is 1 away; point 2's nearest is 0 at 1.0)
    fake = np.array([[0.5, 0.0], [5.0, 5.0], [10.5, 10.2], [30.0, 30.0], [0.0, 0.9]])
    inside = inside_knn_balls(real, fake, k=1)
    assert inside.tolist() == [True, False, True, False, True]
    assert first_n_kept(inside, 2).tolist() == [0, 2]
    assert first_n_kept(inside, 10).tolist() == [0, 2, 4]  # fewer pass than asked: all that pass


def test_not_copies_drops_a_planted_copy():
    from mri_gan.gans.selection import not_copies
    from mri_gan.config import EvalConfig
    from tests.conftest import synthetic_head

    rng = np.random.default_rng(1)
    real = np.stack([synthetic_head(32, i % 4, rng) for i in range(16)])
    fake = np.stack([synthetic_head(32, i % 4, rng) for i in range(6)])
    fake[2] = real[5]  # a planted copy of a training image
    keep, thr = not_copies(fake, real, EvalConfig())
    assert not keep[2] and keep.sum() == 5
    assert 0.0 < thr <= 1.0


def test_check_rule_messages():
    from mri_gan.gans.selection import check_rule

    check_rule("none", 1, 0.9)
    with pytest.raises(MriGanError, match="synth.select must be one of"):
        check_rule("best", 4, 0.9)
    with pytest.raises(MriGanError, match="oversample >= 2"):
        check_rule("realism", 1, 0.9)
    with pytest.raises(MriGanError, match="select_threshold"):
        check_rule("confidence", 4, 1.5)


# -- the paired table on known numbers -------------------------------------------------------


def _results(path: Path, accs: list[float], val=(0.5, 0.6), cfg=None) -> None:
    """A results.json with two listed epochs; epoch 9 has the better mean validation accuracy
    (when val[1] > val[0]) and the accuracies `accs`; epoch 3 a decoy 0.1 lower. With `cfg`, also
    the config.yaml that run_classify writes beside it (what a finished cell is checked against)."""
    path.mkdir(parents=True, exist_ok=True)
    runs = [{"seed": s, "epoch": e, "val_accuracy": v, "accuracy": a - (0.1 if e == 3 else 0.0),
             "balanced_accuracy": a, "auc_macro": 0.9}
            for s, a in enumerate(accs) for e, v in zip((3, 9), val)]
    (path / "results.json").write_text(json.dumps({"seeds": list(range(len(accs))), "seeds_done": list(range(len(accs))),
                                                   "runs": runs}))
    if cfg is not None:
        cfg.save(path / "config.yaml")


def _write_fakes(out: Path, cls: str, n: int, seed: int) -> None:
    """What synthesize writes for one class: OUT/<class>/*.png + manifest.csv."""
    import cv2

    from tests.conftest import synthetic_head

    (out / cls).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(out / cls / f"{cls}_{i:06d}.png"), synthetic_head(32, i % 4, rng))
    (out / "manifest.csv").write_text("file,class\n" + "".join(f"{cls}/{cls}_{i:06d}.png,{cls}\n" for i in range(n)))


def test_paired_table_on_known_numbers(tmp_path):
    from mri_gan.experiments.few_labels_report import collect, markdown

    base = tmp_path / "clf" / "n100" / "paper"
    _results(base / "real", [0.70, 0.72, 0.74])
    _results(base / "classic", [0.71, 0.74, 0.77])
    _results(base / "synthetic-none-r1", [0.72, 0.72, 0.76])
    (tmp_path / "syn" / "n100" / "none-r1").mkdir(parents=True)
    (tmp_path / "syn" / "n100" / "none-r1" / "copies.json").write_text(json.dumps({"all": {"copy_rate": 0.02, "n": 400}}))
    table = collect(tmp_path, Config().few_labels)
    rows = {r["arm"]: r for r in table["rows"]}
    assert rows["real"]["accuracy"]["mean"] == pytest.approx(0.72)
    # synthetic - real per seed: +0.02, 0, +0.02 -> mean 0.01333, sd 0.011547, t(0.975, 2) = 4.302653
    d = rows["synthetic-none-r1"]["vs_real"]
    assert d["mean"] == pytest.approx(0.04 / 3)
    assert d["half_width"] == pytest.approx(4.302653 * 0.011547005 / np.sqrt(3), rel=1e-5)
    # synthetic - classic per seed: +0.01, -0.02, -0.01 -> mean -0.00667
    assert rows["synthetic-none-r1"]["vs_classic"]["mean"] == pytest.approx(-0.02 / 3)
    assert rows["classic"]["vs_real"]["mean"] == pytest.approx(0.02)
    assert "vs_real" not in rows["real"] and rows["synthetic-none-r1"]["copy_rate"] == 0.02
    md = markdown(table)
    assert "| 100 | paper | synthetic-none-r1 | 3 | 9 | 73.3 [" in md and "+1.3 [" in md and "| 400 | 0.020 |" in md
    assert rows["synthetic-none-r1"]["n_synthetic"] == 400 and rows["real"]["n_synthetic"] is None
    # the epoch is the one with the best mean validation accuracy, whatever test says
    _results(base / "real", [0.70, 0.72, 0.74], val=(0.9, 0.6))
    rows = {r["arm"]: r for r in collect(tmp_path, Config().few_labels)["rows"]}
    assert rows["real"]["epoch"] == 3 and rows["real"]["accuracy"]["mean"] == pytest.approx(0.62)


# -- the driver: budgets, finished cells skipped, synthetic images only in training ------------


def test_gan_budget_follows_n():
    from mri_gan.experiments.few_labels import gan_kimg

    cfg = Config()
    cfg.few_labels.gan_epochs = 400
    assert gan_kimg(cfg.few_labels, cfg.train, 100) == pytest.approx(40.0)
    assert gan_kimg(cfg.few_labels, cfg.train, 5000) == pytest.approx(cfg.train.kimg)  # capped


def test_config_checks():
    from mri_gan.experiments.few_labels import check_config

    cfg = Config()
    cfg.few_labels.arms = ["real", "mixup"]
    with pytest.raises(MriGanError, match="unknown arm mixup"):
        check_config(cfg)
    cfg = Config()
    cfg.few_labels.seeds = 1
    with pytest.raises(MriGanError, match="must be >= 2"):
        check_config(cfg)


def test_a_cell_is_done_with_its_seeds_and_settings_only(tmp_path, monkeypatch):
    from mri_gan.classifier.record import classifier_done, settings_differ

    cfg = Config()
    cfg.classifier.epochs, cfg.classifier.seeds = [10, 30], 2
    run = tmp_path / "cell"
    _results(run, [0.5, 0.6])  # seeds 0 and 1 finished
    assert classifier_done(run) and not classifier_done(run, cfg)  # no config.yaml: not known to match
    assert "config.yaml is missing" in settings_differ(run, cfg)
    cfg.save(run / "config.yaml")
    assert classifier_done(run, cfg) and settings_differ(run, cfg) == ""
    cfg.classifier.epochs = [30, 10, 30]  # as run_classify records it: [10, 30]
    assert classifier_done(run, cfg)
    cfg.classifier.seeds = 3  # one more seed to train: not done, but the settings match (resume adds it)
    assert not classifier_done(run, cfg) and settings_differ(run, cfg) == ""
    cfg.classifier.seeds = 1  # fewer seeds than it holds: not this cell
    assert not classifier_done(run, cfg)
    cfg.classifier.seeds, cfg.classifier.epochs = 2, [10, 45]
    assert not classifier_done(run, cfg)
    assert settings_differ(run, cfg) == "classifier.epochs is [10, 30] there, [10, 45] now"
    cfg.classifier.epochs, cfg.classifier.lr_schedule = [10, 30], "cosine"
    assert not classifier_done(run, cfg) and settings_differ(run, cfg).startswith("classifier.lr_schedule")
    # precision auto is compared as what it resolves to on this machine, as the run records it
    monkeypatch.setattr("mri_gan.precision.cpu_has_bf16", lambda: False)
    cfg.classifier.lr_schedule, cfg.classifier.precision = "constant", "auto"
    assert classifier_done(run, cfg)
    monkeypatch.setattr("mri_gan.precision.cpu_has_bf16", lambda: True)
    assert settings_differ(run, cfg) == "classifier.precision is 'float32' there, 'mixed_bfloat16' now"


def test_study_skips_finished_cells_and_keeps_fakes_out_of_val_and_test(tmp_path, monkeypatch):
    """Two classes on a plain tree; GAN and classifier replaced by recorders, so the test checks
    what the study asks for, in what order, and that a second run asks for nothing new."""
    import mri_gan.classifier.train as train_mod
    import mri_gan.gans.fit as fit_mod
    import mri_gan.gans.synthesis as syn_mod
    from mri_gan.experiments.few_labels import run_few_labels

    prep = make_prep(tmp_path / "prep", n_train=12, n_test=4, classes=["a_class", "b_class"])
    calls = {"fit": [], "classify": [], "synth": [], "schedule": []}

    def fake_fit(sub, cls, run, cfg, resume=False, verbose="auto", **kw):
        calls["fit"].append((Path(sub).name, cls, cfg.train.kimg))
        Path(run).mkdir(parents=True, exist_ok=True)
        return {"epochs": 1}

    def fake_synth(run, out, n, **kw):
        calls["synth"].append((Path(out).name, n, kw["selection"].rule))
        _write_fakes(Path(out), Path(out).name, n, len(calls["synth"]))
        return {}

    def fake_classify(sub, out, cfg, synthetic_dirs=(), **kw):
        from mri_gan.classifier.data import list_synthetic, train_val_split
        from mri_gan.data.pipeline import list_split

        real, labels, names = list_split(sub, "train")
        test, _, _ = list_split(sub, "test")
        syn, _ = list_synthetic(synthetic_dirs, names, 32, sub)
        for s in range(cfg.classifier.seeds):  # what run_classify validates on: real images only
            _, va = train_val_split(labels, cfg.classifier.val_fraction, s)
            assert not set(np.asarray(real)[va]) & set(syn)
        assert not set(test) & set(syn) and all("syn" in p for p in syn)
        calls["classify"].append((Path(out).parent.parent.name, Path(out).name, cfg.classifier.augment,
                                  cfg.classifier.seeds, len(syn)))
        calls["schedule"].append((Path(out).name, cfg.classifier.lr_schedule, list(cfg.classifier.epochs)))
        _results(Path(out), [0.5 + 0.01 * s for s in range(cfg.classifier.seeds)], cfg=cfg)
        return {}

    monkeypatch.setattr(fit_mod, "run_fit", fake_fit)
    monkeypatch.setattr(syn_mod, "synthesize", fake_synth)
    monkeypatch.setattr(train_mod, "run_classify", fake_classify)
    cfg = load_config(None, ["study.design=few_labels", "data.size=32", "few_labels.ns=[4,8]",
                             "few_labels.strong_ns=[]", "few_labels.gan_epochs=100", "few_labels.seeds=2",
                             "classifier.epochs=[2]", "few_labels.classic_epochs=[2,4]",
                             "few_labels.classic_lr_schedule=cosine"])
    out = tmp_path / "study"
    run_few_labels(cfg, prep, out)
    # the arms with classic augmentation get their own epochs and schedule, the others the classifier's;
    # the arms without fakes as many optimizer steps as those with one fake per real image (twice the epochs)
    expected = {"real-x2": ("constant", [4]), "classic-x2": ("cosine", [4, 8]), "synthetic-none-r1": ("constant", [2]),
                "classic+synthetic-none-r1": ("cosine", [2, 4])}
    assert len(calls["schedule"]) == 8
    for name, schedule, epochs in calls["schedule"]:
        assert (schedule, epochs) == expected[name], name
    assert [c[:2] for c in calls["fit"]] == [("n4", "a_class"), ("n4", "b_class"), ("n8", "a_class"), ("n8", "b_class")]
    assert calls["fit"][0][2] == pytest.approx(0.4) and calls["fit"][2][2] == pytest.approx(0.8)
    arms = [(c[0], c[1], c[2], c[4]) for c in calls["classify"]]
    assert ("n4", "real-x2", False, 0) in arms and ("n4", "classic-x2", True, 0) in arms
    assert ("n8", "synthetic-none-r1", False, 16) in arms and ("n8", "classic+synthetic-none-r1", True, 16) in arms
    assert len(arms) == 8
    assert (out / "few_labels.md").is_file() and (out / "few_labels.png").is_file()
    table = json.loads((out / "few_labels.json").read_text())
    assert {r["n"] for r in table["rows"]} == {"4", "8"}
    # a GAN counts as finished when its done.json exists; re-running asks for nothing new
    before = {k: len(v) for k, v in calls.items()}
    run_few_labels(cfg, prep, out)
    assert {k: len(v) for k, v in calls.items()} == before
    # fakes for the first half of the epochs only: new cells for the synthetic arms, the same fakes, and
    # baselines with as many steps (1.5x: an epoch with fakes is twice as long for half the run)
    cfg.classifier.synthetic_share = 0.5
    run_few_labels(cfg, prep, out)
    new = [(c[0], c[1], c[4]) for c in calls["classify"][before["classify"]:]]
    assert new == [(n, arm, k if "synthetic" in arm else 0) for n, k in (("n4", 8), ("n8", 16)) for arm in (
        "real-x1.5", "classic-x1.5", "synthetic-none-r1-first0.5", "classic+synthetic-none-r1-first0.5")]
    assert [e for _, _, e in calls["schedule"][8:12]] == [[3], [3, 6], [2], [2, 4]]
    # without equal steps: the classifier's own epochs for the baselines (the synthetic cells exist)
    cfg.few_labels.equal_steps = False
    run_few_labels(cfg, prep, out)
    assert [(c[1], e) for c, (_, _, e) in zip(calls["classify"][-4:], calls["schedule"][-4:])] == [
        ("real", [2]), ("classic", [2, 4])] * 2
    assert len(calls["fit"]) == before["fit"] and len(calls["synth"]) == before["synth"]
    # a finished cell trained with other settings is trained again, and the log says why; the rest stay
    cfg.few_labels.classic_epochs = [2, 6]
    logs, done = [], len(calls["schedule"])
    run_few_labels(cfg, prep, out, log=logs.append)
    assert [(name, e) for name, _, e in calls["schedule"][done:]] == [
        ("classic", [2, 6]), ("classic+synthetic-none-r1-first0.5", [2, 6])] * 2
    assert sum("trained again: classifier.epochs is [2, 4] there, [2, 6] now" in m for m in logs) == 4
    # the strong recipe's arms with classic augmentation take the same schedule of their own
    cfg.few_labels.strong_ns = [4]
    done = len(calls["schedule"])
    run_few_labels(cfg, prep, out)
    assert calls["schedule"][done:] == [("real", "cosine", [2]), ("classic", "cosine", [2, 6]),
                                        ("synthetic-none-r1-first0.5", "cosine", [2]),
                                        ("classic+synthetic-none-r1-first0.5", "cosine", [2, 6])]
    assert [c[0] for c in calls["classify"][done:]] == ["n4"] * 4
    rows = {r["arm"]: r for r in json.loads((out / "few_labels.json").read_text())["rows"] if r["n"] == "8"}
    # each arm is paired with the baselines of its own steps, where the study made them
    assert rows["synthetic-none-r1-first0.5"]["baselines"] == {"real": "real-x1.5", "classic": "classic-x1.5"}
    assert rows["classic+synthetic-none-r1"]["baselines"] == {"real": "real-x2", "classic": "classic-x2"}
    assert rows["classic-x1.5"]["baselines"]["real"] == "real-x1.5" and rows["classic"]["baselines"]["real"] == "real"
    assert "vs_classic" not in rows["classic-x2"] and "vs_real" not in rows["real-x2"]
    for arm in ("synthetic-none-r1-first0.5", "classic+synthetic-none-r1"):
        assert rows[arm]["synthetic"] == "none-r1"
        assert rows[arm]["copy_rate"] == rows["synthetic-none-r1"]["copy_rate"] is not None
        assert rows[arm]["vs_real"] is not None and rows[arm]["vs_classic"] is not None
    assert rows["real-x1.5"]["synthetic"] is None and rows["real-x1.5"]["copy_rate"] is None
    assert "(vs classic-x1.5)" in (out / "few_labels.md").read_text()


@pytest.mark.parametrize("share, ratio, epochs, expected", [
    (0.5, 1.0, [10, 30], [15, 45]),
    (0.5, 1.0, [30, 60, 90], [45, 90, 135]),
    (1.0, 1.0, [10, 30], [20, 60]),
    (1.0, 0.25, [3], [4]),  # 3.75 -> 4
    (0.5, 0.5, [1, 2], [1, 3]),  # 1.25 -> 1, 2.5 -> 3 (half up)
])
def test_baselines_stretch_to_the_steps_of_the_arms_with_fakes(share, ratio, epochs, expected):
    from mri_gan.experiments.few_labels import scaled_epochs
    from mri_gan.experiments.few_labels_report import step_factor

    assert scaled_epochs(epochs, step_factor(share, ratio)) == expected


@pytest.mark.parametrize("args, name, syn, steps", [
    (("real",), "real", "", 1.0),
    (("classic", "", 1.0, 1.5), "classic-x1.5", "", 1.5),
    (("synthetic", "none-r1"), "synthetic-none-r1", "none-r1", 2.0),
    (("classic+synthetic", "realism-r0.5", 0.5), "classic+synthetic-realism-r0.5-first0.5", "realism-r0.5", 1.25),
    (("synthetic", "discriminator-r0.25", 1.0), "synthetic-discriminator-r0.25", "discriminator-r0.25", 1.25),
])
def test_cell_names_their_synthetic_sets_and_steps(args, name, syn, steps):
    from mri_gan.experiments.few_labels_report import cell_name, steps_of, syn_of

    assert cell_name(*args) == name and syn_of(name) == syn and steps_of(name) == steps


def test_gan_quality_picks_the_snapshot_synthesize_uses(tmp_path):
    from mri_gan.experiments.few_labels_report import gan_markdown, gan_quality

    run = tmp_path / "gan" / "n50" / "glioma"
    run.mkdir(parents=True)
    good = {"kimg": 12.0, "kid": 0.05, "recall": 0.5, "coverage": 0.5, "ms_ssim_ratio": 1.1, "nearest_ssim": 0.5,
            "copy_rate": 0.0}  # 6/6 targets
    low_kid = {**good, "kimg": 18.0, "kid": 0.01, "recall": 0.3}  # lower KID but 5/6
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in (good, low_kid)) + "\n")
    (run / "done.json").write_text(json.dumps({"seconds": 120.0}))
    g = gan_quality(tmp_path)["50"]["glioma"]
    assert g["kimg"] == 12.0 and g["targets_met"] == "6/6" and g["measurements"] == 2 and g["minutes"] == 2.0
    assert "| 50 | glioma | 12 | 0.05 |" in gan_markdown(gan_quality(tmp_path))


@pytest.mark.parametrize("cell, label", [
    ("real", "real only"),
    ("classic-x1.5", "real + classic (1.5x epochs)"),
    ("synthetic-none-r1", "real + fakes (every draw, 1 per real image)"),
    ("classic+synthetic-realism-r0.5-first0.5", "real + classic + fakes (realism, 0.5 per real image, first 50 % of epochs)"),
])
def test_cell_labels_read_as_the_arm_its_fakes_and_steps(cell, label):
    from mri_gan.experiments.few_labels_report import cell_label

    assert cell_label(cell) == label
