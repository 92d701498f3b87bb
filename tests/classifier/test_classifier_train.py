"""classify end to end on the planted tiny dataset: accuracy, schema, synthetic exclusion."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.errors import MriGanError

RUN_KEYS = {"seed", "epoch", "accuracy", "loss", "precision", "recall", "f1", "f1_macro", "confusion"}


def _cfg(epochs=(2, 8), seeds=2):
    cfg = Config()
    cfg.classifier.epochs = list(epochs)
    cfg.classifier.seeds = seeds
    return cfg


def _synthetic_tree(root: Path, prep: Path, classes, n=6, manifest=False):
    """Synthetic dir: copies of the prep's TRAIN images under new names (so they are easy to spot)."""
    rows = []
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i, src in enumerate(sorted((prep / "train" / c).glob("*.png"))[:n]):
            name = f"{c}_{i:06d}.png"
            cv2.imwrite(str(root / c / name), cv2.imread(str(src), cv2.IMREAD_GRAYSCALE))
            rows.append(f"{c}/{name},{c},0,{i},ckpt,abc,now")
    if manifest:
        (root / "manifest.csv").write_text("file,class,seed,index,checkpoint,checkpoint_sha256,created_at\n" + "\n".join(rows) + "\n")
    return root


def test_classify_planted_dataset_accuracy_and_outputs(tiny_prep, tmp_path):
    from mri_gan.classifier.train import run_classify

    out = tmp_path / "run"
    res = run_classify(tiny_prep, out, _cfg(), verbose=0)
    assert res["seeds"] == [0, 1] and res["epochs"] == [2, 8]
    assert len(res["runs"]) == 4 and all(RUN_KEYS <= set(r) for r in res["runs"])
    # one training run per seed: history has each epoch 1..8 exactly once per seed
    hist = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert sorted((h["seed"], h["epoch"]) for h in hist) == [(s, e) for s in (0, 1) for e in range(1, 9)]
    assert [h["epoch"] for h in hist if "test_accuracy" in h] == [2, 8, 2, 8]
    # the planted signal is obvious: a correct pipeline is near perfect, a label mix-up is at chance
    assert res["summary"]["8"]["accuracy"]["mean"] >= 0.9
    for r in res["runs"]:
        assert np.sum(r["confusion"]) == 32 and set(r["f1"]) == {"glioma", "meningioma", "notumor", "pituitary", "macro"}
    s = res["summary"]["8"]["accuracy"]
    assert set(s) >= {"mean", "std", "ci95"} and len(s["ci95"]) == 2
    assert res["class_balance"]["test"] == {"glioma": 8, "meningioma": 8, "notumor": 8, "pituitary": 8}
    assert res["device"].startswith("tensorflow ")  # the backend and device that computed it
    for name in ("config.yaml", "results.json", "best.keras", "model.json", "confusion.png", "curves.png"):
        assert (out / name).is_file(), name
    assert (out / "tensorboard").is_dir()
    info = json.loads((out / "model.json").read_text())
    assert info["size"] == 32 and info["classes"] == ["glioma", "meningioma", "notumor", "pituitary"]
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["summary"]["8"]["accuracy"]["mean"] == pytest.approx(s["mean"])
    # clinical metrics per run and over seeds; the best-validation checkpoint of each seed scored on test
    assert {"sensitivity", "specificity", "balanced_accuracy", "auc", "auc_macro", "ece"} <= set(res["runs"][0])
    assert {"balanced_accuracy", "auc_macro", "ece", "sensitivity"} <= set(res["summary"]["8"])
    bv = res["best_val"]
    assert [r["seed"] for r in bv["runs"]] == [0, 1] and all(1 <= r["epoch"] <= 8 for r in bv["runs"])
    assert bv["summary"]["accuracy"]["n"] == 2
    best = res["best_model"]
    assert best["epoch"] == next(r["epoch"] for r in bv["runs"] if r["seed"] == best["seed"])
    with np.load(out / "test_predictions.npz") as z:  # best.keras on test, which roc.png and reliability.png show
        from mri_gan.classifier.stats import classification_stats

        again = classification_stats(z["y_true"], z["probs"], list(z["classes"]))
    assert again["accuracy"] == next(r["accuracy"] for r in bv["runs"] if r["seed"] == best["seed"])
    for name in ("roc.png", "reliability.png"):
        assert (out / name).stat().st_size > 1000, name


def test_synthetic_never_in_validation_or_test(tiny_prep, tmp_path, monkeypatch):
    import mri_gan.classifier.train as train

    syn = _synthetic_tree(tmp_path / "syn", tiny_prep, ["glioma"], n=5, manifest=True)
    seen = []
    real_train_one = train._train_one

    def spy(cond, seed, tr, val, test, *a, **k):
        seen.append((cond, seed, list(tr[0]), list(val[0]), list(test[0])))
        return real_train_one(cond, seed, tr, val, test, *a, **k)

    monkeypatch.setattr(train, "_train_one", spy)
    cfg = _cfg(epochs=(1,), seeds=2)
    cfg.classifier.precision = "mixed_bfloat16"
    res = train.run_classify(tiny_prep, tmp_path / "run", cfg, synthetic_dirs=[syn], compare_real=True, verbose=0)
    import keras

    m = keras.saving.load_model(tmp_path / "run" / "best.keras")
    assert m.get_layer("conv1").dtype_policy.name == "mixed_bfloat16"  # the policy survives clear_session
    assert keras.mixed_precision.global_policy().name == "float32"  # and is restored afterwards
    syn_files = {str(p) for p in syn.rglob("*.png")}
    assert len(syn_files) == 5
    assert [(c, s) for c, s, *_ in seen] == [("real+synthetic", 0), ("real", 0), ("real+synthetic", 1), ("real", 1)]
    for cond, seed, tr, val, test in seen:
        assert not syn_files & set(val) and not syn_files & set(test)
        assert all(str(tiny_prep / "test") in p for p in test)
        assert not set(tr) & set(val)
        assert (syn_files <= set(tr)) == (cond == "real+synthetic")
    # the same seed gives the same validation split to both conditions (a paired comparison)
    assert seen[0][3] == seen[1][3] and seen[0][3] != seen[2][3]
    assert res["class_balance"]["train_synthetic"]["glioma"] == 5
    assert set(res) >= {"baseline", "paired_difference"} and res["paired_difference"]["1"]["seeds"] == [0, 1]


def test_synthetic_only_and_bad_synthetic_dirs(tiny_prep, tmp_path):
    from mri_gan.classifier.train import run_classify

    syn = _synthetic_tree(tmp_path / "syn", tiny_prep, ["glioma", "notumor"], n=4)
    res = run_classify(tiny_prep, tmp_path / "tstr", _cfg(epochs=(1,), seeds=1), synthetic_dirs=[syn],
                       synthetic_only=True, verbose=0)
    assert res["mode"] == "synthetic-only"
    assert res["class_balance"]["synthetic-only"]["train"] == {"glioma": 4, "meningioma": 0, "notumor": 4, "pituitary": 0}
    bad = tmp_path / "bad"
    (bad / "astrocytoma").mkdir(parents=True)
    cv2.imwrite(str(bad / "astrocytoma" / "a.png"), np.zeros((32, 32), np.uint8))
    with pytest.raises(MriGanError, match="unknown class 'astrocytoma'"):
        run_classify(tiny_prep, tmp_path / "r2", _cfg(epochs=(1,), seeds=1), synthetic_dirs=[bad], verbose=0)
    big = _synthetic_tree(tmp_path / "big", tiny_prep, ["glioma"], n=1)
    cv2.imwrite(str(next((big / "glioma").glob("*.png"))), np.zeros((64, 64), np.uint8))
    with pytest.raises(MriGanError, match="64x64"):
        run_classify(tiny_prep, tmp_path / "r3", _cfg(epochs=(1,), seeds=1), synthetic_dirs=[big], verbose=0)
    with pytest.raises(MriGanError, match="inside the prepared dir"):
        run_classify(tiny_prep, tmp_path / "r4", _cfg(epochs=(1,), seeds=1), synthetic_dirs=[tiny_prep / "test"], verbose=0)


def test_stratified_split_is_seeded_and_stratified():
    from mri_gan.classifier.data import train_val_split

    labels = np.repeat([0, 1, 2], [50, 30, 20])
    tr, va = train_val_split(labels, 0.1, seed=3)
    tr2, va2 = train_val_split(labels, 0.1, seed=3)
    assert np.array_equal(va, va2) and not set(tr) & set(va) and len(tr) + len(va) == 100
    assert np.bincount(labels[va]).tolist() == [5, 3, 2]


@pytest.mark.slow
def test_compare_real_reuses_a_matching_baseline_run(tiny_prep, tmp_path, monkeypatch):
    import mri_gan.classifier.train as train

    base = train.run_classify(tiny_prep, tmp_path / "real", _cfg(epochs=(1,), seeds=1), verbose=0)
    syn = _synthetic_tree(tmp_path / "syn", tiny_prep, ["glioma"], n=3)
    calls = []
    real_train_one = train._train_one
    monkeypatch.setattr(train, "_train_one", lambda cond, *a, **k: calls.append(cond) or real_train_one(cond, *a, **k))
    cfg = _cfg(epochs=(1,), seeds=1)
    cfg.classifier.baseline_from = str(tmp_path / "real")
    res = train.run_classify(tiny_prep, tmp_path / "aug", cfg, synthetic_dirs=[syn], compare_real=True, verbose=0)
    assert calls == ["real+synthetic"]
    assert res["baseline"]["runs"] == base["runs"] and res["baseline"]["reused_from"] == str(tmp_path / "real")
    d = res["paired_difference"]["1"]["accuracy"]
    assert d["values"] == pytest.approx([res["runs"][0]["accuracy"] - base["runs"][0]["accuracy"]])
    # the real-only baseline a --compare-real run trained serves as well (TSTR after real + synthetic)
    cfg.classifier.baseline_from = str(tmp_path / "aug")
    calls.clear()
    tstr = train.run_classify(tiny_prep, tmp_path / "tstr", cfg, synthetic_dirs=[syn], compare_real=True,
                              synthetic_only=True, verbose=0)
    assert calls == ["synthetic-only"] and tstr["baseline"]["runs"] == base["runs"]
    train.run_classify(tiny_prep, tmp_path / "tstr-alone", _cfg(epochs=(1,), seeds=1), synthetic_dirs=[syn],
                       synthetic_only=True, verbose=0)
    cfg.classifier.baseline_from = str(tmp_path / "tstr-alone")  # no real-only runs in it at all
    with pytest.raises(MriGanError, match="neither a real-only run"):
        train.run_classify(tiny_prep, tmp_path / "t2", cfg, synthetic_dirs=[syn], compare_real=True,
                           synthetic_only=True, verbose=0)
    cfg.classifier.baseline_from = str(tmp_path / "real")
    cfg.classifier.lr = 0.5
    with pytest.raises(MriGanError, match="differs in classifier.lr"):
        train.run_classify(tiny_prep, tmp_path / "aug2", cfg, synthetic_dirs=[syn], compare_real=True, verbose=0)
    cfg.classifier.lr = _cfg().classifier.lr  # a baseline from another Keras backend is not paired seed by seed
    done = json.loads((tmp_path / "real" / "results.json").read_text())
    (tmp_path / "real" / "results.json").write_text(json.dumps({**done, "device": "torch cuda H100"}))
    with pytest.raises(MriGanError, match="ran on the torch backend, this is tensorflow"):
        train.run_classify(tiny_prep, tmp_path / "aug3", cfg, synthetic_dirs=[syn], compare_real=True, verbose=0)


@pytest.mark.slow
def test_resume_after_an_interruption_equals_one_run(tiny_prep, tmp_path, monkeypatch):
    import mri_gan.classifier.train as train
    from mri_gan.utils import append_jsonl

    syn = _synthetic_tree(tmp_path / "syn", tiny_prep, ["glioma"], n=3)
    kw = dict(synthetic_dirs=[syn], compare_real=True, verbose=0)
    ref = train.run_classify(tiny_prep, tmp_path / "ref", _cfg(epochs=(1, 3), seeds=2), **kw)

    real_train_one = train._train_one
    calls = []

    def cut_at_seed_1(cond, seed, *a, **k):
        calls.append((cond, seed))
        if seed == 1:  # a crash half-way through seed 1: it has logged an epoch and a TensorBoard dir
            out = a[-1].out  # the run's ClassifyPlan
            append_jsonl(out / "history.jsonl", {"condition": cond, "seed": 1, "epoch": 1, "loss": 9.0})
            (out / "tensorboard" / f"{cond}-seed1").mkdir(parents=True, exist_ok=True)
            raise KeyboardInterrupt
        return real_train_one(cond, seed, *a, **k)

    monkeypatch.setattr(train, "_train_one", cut_at_seed_1)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train.run_classify(tiny_prep, out, _cfg(epochs=(1, 3), seeds=2), **kw)
    assert json.loads((out / "results.json").read_text())["seeds_done"] == [0]
    with pytest.raises(MriGanError, match="is not empty"):  # no silent restart without --resume
        train.run_classify(tiny_prep, out, _cfg(epochs=(1, 3), seeds=2), **kw)

    monkeypatch.setattr(train, "_train_one", lambda cond, *a, **k: calls.append((cond, a[0])) or real_train_one(cond, *a, **k))
    calls.clear()
    res = train.run_classify(tiny_prep, out, _cfg(epochs=(1, 3), seeds=2), resume=True, **kw)
    assert calls == [("real+synthetic", 1), ("real", 1)]  # seed 0 is kept, only seed 1 trains
    assert res["seeds_done"] == [0, 1] and res["seeds_resumed"] == [0]
    for key in ("runs",):
        for r, q in zip(res[key], ref[key], strict=True):
            assert (r["seed"], r["epoch"], r["confusion"]) == (q["seed"], q["epoch"], q["confusion"])
            assert r["accuracy"] == pytest.approx(q["accuracy"]) and r["loss"] == pytest.approx(q["loss"], rel=1e-4)
    assert res["paired_difference"]["3"]["accuracy"]["mean"] == pytest.approx(ref["paired_difference"]["3"]["accuracy"]["mean"])
    hist = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    keys = [(h["condition"], h["seed"], h["epoch"]) for h in hist]
    assert sorted(keys) == sorted({(c, s, e) for c in ("real+synthetic", "real") for s in (0, 1) for e in (1, 2, 3)})
    assert 9.0 not in [h["loss"] for h in hist]  # the crashed seed's partial log is gone
    assert sorted(d.name for d in (out / "tensorboard").iterdir()) == [
        "real+synthetic-seed0", "real+synthetic-seed1", "real-seed0", "real-seed1"]

    # a run with other settings, or fewer seeds than done, is not continued
    cfg = _cfg(epochs=(1, 3), seeds=2)
    cfg.classifier.lr = 0.5
    with pytest.raises(MriGanError, match=r"cannot resume .*classifier\.lr"):
        train.run_classify(tiny_prep, out, cfg, resume=True, **kw)
    with pytest.raises(MriGanError, match="would drop some"):
        train.run_classify(tiny_prep, out, _cfg(epochs=(1, 3), seeds=1), resume=True, **kw)
    done = json.loads((out / "results.json").read_text())  # seeds of another Keras backend are other runs
    (out / "results.json").write_text(json.dumps({**done, "device": "jax gpu NVIDIA H100 80GB HBM3"}))
    with pytest.raises(MriGanError, match="cannot resume .*ran on the jax backend, this is tensorflow"):
        train.run_classify(tiny_prep, out, _cfg(epochs=(1, 3), seeds=2), resume=True, **kw)
    calls.clear()  # resume + overwrite: start over when it cannot be continued
    cfg.classifier.epochs = [1]
    res = train.run_classify(tiny_prep, out, cfg, resume=True, overwrite=True, **kw)
    assert calls[0] == ("real+synthetic", 0) and res["seeds_resumed"] == []


def test_synthetic_share_trains_on_the_fakes_first_then_on_the_real_images_alone(tiny_prep, tmp_path, monkeypatch):
    import mri_gan.classifier.train as train
    import mri_gan.data.pipeline as pipeline
    from mri_gan.utils import read_jsonl

    c = _cfg().classifier
    c.synthetic_share = 0.5
    assert [train.synthetic_epochs(c, e) for e in (90, 3, 1)] == [45, 2, 1]  # rounded (2.5 -> 2), at least 1
    c.synthetic_share = 0.001
    assert train.synthetic_epochs(c, 90) == 1
    c.synthetic_share = 1.0
    assert train.synthetic_epochs(c, 90) == 90

    syn = _synthetic_tree(tmp_path / "syn", tiny_prep, ["glioma", "notumor"], n=4, manifest=True)
    syn_files = {str(p) for p in syn.rglob("*.png")}
    shuffled = []  # the file lists of the shuffled (training) datasets, in the order they are made
    real_make = pipeline.make_dataset

    def spy(paths, labels, *a, **k):
        if k.get("shuffle"):
            shuffled.append(list(paths))
        return real_make(paths, labels, *a, **k)

    monkeypatch.setattr(pipeline, "make_dataset", spy)
    cfg = _cfg(epochs=(2, 4), seeds=1)
    cfg.classifier.synthetic_share = 0.5
    res = train.run_classify(tiny_prep, tmp_path / "run", cfg, synthetic_dirs=[syn], compare_real=True, verbose=0)
    # real+synthetic: epochs 1-2 on real + fakes, 3-4 on the same real images without them; then the real baseline
    assert len(shuffled) == 3
    assert syn_files <= set(shuffled[0]) and not syn_files & set(shuffled[1])
    assert set(shuffled[1]) == set(shuffled[0]) - syn_files == set(shuffled[2])
    hist = [r for r in read_jsonl(tmp_path / "run" / "history.jsonl") if r["condition"] == "real+synthetic"]
    assert [(r["epoch"], r["trained_on"]) for r in hist] == [(1, "real+synthetic"), (2, "real+synthetic"),
                                                             (3, "real"), (4, "real")]
    assert all("trained_on" not in r for r in read_jsonl(tmp_path / "run" / "history.jsonl") if r["condition"] == "real")
    assert sorted({r["epoch"] for r in res["runs"]}) == [2, 4]
    cfg = _cfg(epochs=(1,), seeds=1)
    cfg.classifier.synthetic_share = 0.5
    with pytest.raises(MriGanError, match="synthetic_share 0.5 ends a run on the real images"):
        train.run_classify(tiny_prep, tmp_path / "tstr", cfg, synthetic_dirs=[syn], synthetic_only=True, verbose=0)


def test_cosine_schedule_spans_both_parts_of_a_synthetic_share_run():
    from mri_gan.models.classifier import build_optimizer

    c = _cfg().classifier
    c.lr_schedule = "cosine"
    assert int(build_optimizer(c, 10, 5)._learning_rate.decay_steps) == 50
    assert int(build_optimizer(c, 10, 5, total_steps=37)._learning_rate.decay_steps) == 37
