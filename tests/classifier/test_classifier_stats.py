"""Statistics against known answers."""

import numpy as np
import pytest

from mri_gan.classifier.stats import classification_stats, confusion_matrix, paired_difference, summarize, t_interval


def test_t_interval_of_1_2_3():
    s = t_interval([1.0, 2.0, 3.0])
    # mean 2, sd 1, t_{0.975, 2} = 4.302653 -> half width 4.302653 / sqrt(3) = 2.484138
    assert s["mean"] == pytest.approx(2.0)
    assert s["std"] == pytest.approx(1.0)
    assert s["half_width"] == pytest.approx(2.484138, abs=1e-5)
    assert s["ci95"] == pytest.approx([2.0 - 2.484138, 2.0 + 2.484138], abs=1e-5)
    one = t_interval([0.7])
    assert one["mean"] == 0.7 and one["ci95"] is None


def test_classification_stats_known_example():
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    probs = np.full((6, 3), 0.1)
    probs[np.arange(6), pred] = 0.8
    s = classification_stats(y, probs, ["a", "b", "c"])
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
