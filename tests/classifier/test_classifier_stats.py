"""Statistics against known answers."""

import numpy as np
import pytest

from mri_gan.classifier.stats import (
    classification_stats,
    confusion_matrix,
    paired_difference,
    reliability_bins,
    summarize,
    t_interval,
)


def test_t_interval_of_1_2_3():
    s = t_interval([1.0, 2.0, 3.0])
    # mean 2, sd 1, t_{0.975, 2} = 4.302653 -> half width 4.302653 / sqrt(3) = 2.484138
    assert s["mean"] == pytest.approx(2.0)
    assert s["std"] == pytest.approx(1.0)
    assert s["half_width"] == pytest.approx(2.484138, abs=1e-5)
    assert s["ci95"] == pytest.approx([2.0 - 2.484138, 2.0 + 2.484138], abs=1e-5)
    one = t_interval([0.7])
    assert one["mean"] == 0.7 and one["ci95"] is None


def _known_example():
    """Six test images of three classes, four predicted right with probability 0.8."""
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    probs = np.full((6, 3), 0.1)
    probs[np.arange(6), pred] = 0.8
    return classification_stats(y, probs, ["a", "b", "c"])


def test_classification_stats_known_example():
    s = _known_example()
    assert s["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["precision"]["a"] == pytest.approx(0.5) and s["precision"]["b"] == pytest.approx(2 / 3)
    assert s["recall"]["c"] == pytest.approx(0.5) and s["precision"]["c"] == pytest.approx(1.0)
    f1 = [0.5, 0.8, 2 / 3]
    assert s["f1"]["macro"] == pytest.approx(np.mean(f1)) and s["f1_macro"] == pytest.approx(np.mean(f1))
    # loss: -log(0.8) for the 4 right, -log(0.1) for the 2 wrong
    assert s["loss"] == pytest.approx((4 * -np.log(0.8) + 2 * -np.log(0.1)) / 6)
    assert confusion_matrix([1], [1], 2).tolist() == [[0, 0], [0, 1]]


def test_summary_and_paired_difference():
    base = [{"seed": s, "epoch": 5, "accuracy": a, "loss": 1.0, "f1_macro": a} for s, a in enumerate([0.80, 0.82, 0.84])]
    aug = [{"seed": s, "epoch": 5, "accuracy": a, "loss": 1.0, "f1_macro": a} for s, a in enumerate([0.81, 0.84, 0.87])]
    summ = summarize(aug, [5])
    assert summ["5"]["accuracy"]["mean"] == pytest.approx(0.84)
    d = paired_difference(aug, base, [5])["5"]
    assert d["seeds"] == [0, 1, 2]
    assert d["accuracy"]["values"] == pytest.approx([0.01, 0.02, 0.03])
    assert d["accuracy"]["mean"] == pytest.approx(0.02)
    assert d["accuracy"]["half_width"] == pytest.approx(0.024841, abs=1e-5)  # t-interval of [1,2,3] / 100


def test_clinical_metrics_known_example():
    # the example above: sensitivity = recall; specificity = TN / (TN + FP) per class, by hand
    s = _known_example()
    assert s["sensitivity"] == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.5, "macro": 2 / 3})
    assert s["specificity"] == pytest.approx({"a": 3 / 4, "b": 3 / 4, "c": 1.0, "macro": 5 / 6})
    assert s["balanced_accuracy"] == pytest.approx(2 / 3)
    # every confidence is 0.8, in one bin, where accuracy is 4/6: ECE = |4/6 - 0.8|
    assert s["ece"] == pytest.approx(0.8 - 4 / 6) and s["ece_bins"] == 15
    # class a vs rest from column 0: positives score (0.8, 0.1), negatives (0.1, 0.1, 0.1, 0.8);
    # pairs pos > neg: 0.8 beats 3 and ties 1 (1/2), 0.1 ties 3 (3/2): (3 + 0.5 + 1.5) / 8
    assert s["auc"]["a"] == pytest.approx(5 / 8)


def test_clinical_metrics_match_scikit_learn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 60)
    logits = rng.normal(size=(60, 4)) + 1.5 * np.eye(4)[y]  # informative but imperfect
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    s = classification_stats(y, probs, list("abcd"))
    pred = probs.argmax(axis=1)
    assert s["confusion"] == skm.confusion_matrix(y, pred).tolist()
    assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert s["auc_macro"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    assert s["auc"]["c"] == pytest.approx(skm.roc_auc_score(y == 2, probs[:, 2]))
    assert s["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    cm = np.array(s["confusion"])
    for i, c in enumerate("abcd"):
        tn = cm.sum() - cm[i].sum() - cm[:, i].sum() + cm[i, i]
        assert s["specificity"][c] == pytest.approx(tn / (cm.sum() - cm[i].sum()))
        assert s["sensitivity"][c] == pytest.approx(skm.recall_score(y, pred, labels=[i], average=None)[0])
    assert 0.5 < s["auc_macro"] < 1.0 and 0.0 < s["ece"] < 1.0


def test_perfect_classifier_and_undefined_classes():
    y = np.array([0, 1, 2, 0, 1, 2])
    s = classification_stats(y, np.eye(3)[y], ["a", "b", "c"])
    assert s["auc_macro"] == 1.0 and s["balanced_accuracy"] == 1.0 and s["ece"] == pytest.approx(0.0)
    assert s["sensitivity"]["macro"] == 1.0 and s["specificity"]["macro"] == 1.0
    # class c absent from the labels: its sensitivity and AUC are undefined (None), not 0,
    # and the macro means are over the defined classes
    y2 = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.5, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    s2 = classification_stats(y2, probs, ["a", "b", "c"])
    assert s2["auc"]["c"] is None and s2["sensitivity"]["c"] is None
    assert s2["auc"]["a"] == 1.0 and s2["auc_macro"] == 1.0
    assert s2["sensitivity"]["macro"] == pytest.approx(0.75)  # (1/2 + 1) / 2


def test_ece_calibrated_and_two_bin_cases():
    # calibrated: confidence 0.7 everywhere and 7 of 10 right -> ECE 0
    y = np.array([0] * 7 + [1] * 3)
    probs = np.tile([0.7, 0.3], (10, 1))
    assert reliability_bins(y, probs)["ece"] == pytest.approx(0.0)
    # overconfident: 4 at 0.95 with 2 right (gap 0.45), 6 at 0.55 with 3 right (gap 0.05)
    y = np.array([0, 0, 1, 1, 0, 0, 0, 1, 1, 1])
    probs = np.array([[0.95, 0.05]] * 4 + [[0.55, 0.45]] * 6)
    b = reliability_bins(y, probs, 10)
    assert b["ece"] == pytest.approx(0.4 * 0.45 + 0.6 * 0.05)
    assert b["count"][9] == 4 and b["count"][5] == 6 and sum(b["count"]) == 10
    assert b["accuracy"][9] == pytest.approx(0.5) and b["confidence"][5] == pytest.approx(0.55)
    assert b["accuracy"][0] is None  # empty bin


def test_summary_of_clinical_metrics_over_seeds():
    def run(seed, acc, sens_a):
        return {"seed": seed, "epoch": 5, "accuracy": acc, "loss": 1.0, "f1_macro": acc, "balanced_accuracy": acc,
                "auc_macro": acc, "ece": 0.1, "sensitivity": {"a": sens_a, "b": None, "macro": sens_a},
                "specificity": {"a": 1.0, "macro": 1.0}, "auc": {"a": acc, "macro": acc}}

    runs = [run(s, a, x) for s, a, x in zip(range(3), [0.8, 0.9, 1.0], [0.1, 0.2, 0.3])]
    summ = summarize(runs, [5])["5"]
    assert summ["balanced_accuracy"]["mean"] == pytest.approx(0.9)
    assert summ["sensitivity"]["a"]["values"] == pytest.approx([0.1, 0.2, 0.3])
    assert summ["sensitivity"]["a"]["half_width"] == pytest.approx(0.24841, abs=1e-5)
    assert summ["sensitivity"]["b"]["n"] == 0  # undefined in every seed
    base = [run(s, 0.8, 0.1) for s in range(3)]
    d = paired_difference(runs, base, [5])["5"]
    assert d["auc_macro"]["values"] == pytest.approx([0.0, 0.1, 0.2])
    assert d["sensitivity"]["a"]["values"] == pytest.approx([0.0, 0.1, 0.2])
    # runs recorded before a metric existed: that metric is left out, the rest is summarised
    old = [{"seed": s, "epoch": 5, "accuracy": 0.9, "loss": 1.0, "f1_macro": 0.9} for s in range(2)]
    assert set(summarize(old, [5])["5"]) == {"accuracy", "loss", "f1_macro"}


def test_roc_and_reliability_figures(tmp_path):
    from mri_gan.classifier.figures import plot_reliability, plot_roc

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 30)
    probs = rng.dirichlet([1, 1, 1], 30)
    plot_roc(y, probs, ["a", "b", "c"], tmp_path / "roc.png")
    plot_reliability(y, probs, tmp_path / "rel.png")
    assert (tmp_path / "roc.png").stat().st_size > 1000 and (tmp_path / "rel.png").stat().st_size > 1000
