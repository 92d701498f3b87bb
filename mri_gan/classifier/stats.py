"""Classification statistics: per run (one seed, one epoch) and across seeds.

Per run, from the true labels and the predicted probabilities (scikit-learn does the counting):
accuracy, cross-entropy loss, confusion matrix, per-class precision/recall/F1, the numbers
clinicians read — per-class sensitivity (= recall) and specificity, balanced accuracy,
one-vs-rest ROC AUC per class and their macro means — and the expected calibration error
(Guo et al. 2017) over `ECE_BINS` equal-width bins of the top-class probability.

Across seeds: mean, sample std and the 95 % Student-t confidence interval of the mean
(n seeds -> n-1 degrees of freedom), for scalar metrics and, class by class, for the per-class
ones. Two conditions run with the same seeds (real+synthetic vs real-only) are compared by the
paired difference per seed, with its own t interval.
"""

from __future__ import annotations

import math

import numpy as np

ECE_BINS = 15  # equal-width bins on the top-class probability (Guo et al. 2017 use 15)
# Scalars get one t interval; the per-class dicts (sensitivity, specificity, auc) one per class.
SUMMARY_METRICS = ("accuracy", "loss", "f1_macro", "balanced_accuracy", "auc_macro", "ece",
                   "sensitivity", "specificity", "auc")


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(k, k) counts: rows = true class, columns = predicted class."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    return sk_confusion(np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64), labels=np.arange(num_classes))


def reliability_bins(y_true, probs, n_bins: int = ECE_BINS) -> dict:
    """Top-class probability ("confidence") in `n_bins` equal-width bins (lo, hi] of [0, 1]:
    per bin the count, mean confidence and accuracy (None where empty), and the expected
    calibration error ECE = sum_b |B_b| / N * |acc(B_b) - conf(B_b)| (Guo et al. 2017)."""
    probs = np.asarray(probs, np.float64)
    y_true = np.asarray(y_true, np.int64)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.searchsorted(edges[1:-1], conf, side="left")  # right-closed bins, as Guo et al.'s code
    count = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=n_bins)
    nz = count > 0
    mean_conf = np.divide(conf_sum, count, out=np.zeros(n_bins), where=nz)
    mean_acc = np.divide(acc_sum, count, out=np.zeros(n_bins), where=nz)
    ece = float(np.sum(count * np.abs(mean_acc - mean_conf)) / max(len(y_true), 1))
    return {"edges": edges.tolist(), "count": count.tolist(),
            "confidence": [float(c) if n else None for c, n in zip(mean_conf, nz)],
            "accuracy": [float(a) if n else None for a, n in zip(mean_acc, nz)], "ece": ece}


def one_vs_rest_auc(y_true, probs, num_classes: int) -> list[float | None]:
    """ROC AUC of class c vs the rest from its probability column; None where y_true lacks c or
    has only c (the AUC is undefined then)."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true, np.int64)
    out = []
    for c in range(num_classes):
        pos = y_true == c
        out.append(float(roc_auc_score(pos, probs[:, c])) if 0 < pos.sum() < len(pos) else None)
    return out


def _per_class(values, class_names: list[str]) -> dict:
    """{class: value, ..., "macro": mean of the defined values} (None = undefined for that class)."""
    d = {name: (None if v is None else float(v)) for name, v in zip(class_names, values)}
    defined = [v for v in d.values() if v is not None]
    d["macro"] = float(np.mean(defined)) if defined else None
    return d


def classification_stats(y_true, probs, class_names: list[str], ece_bins: int = ECE_BINS) -> dict:
    """Metrics of one evaluation. `probs`: (N, k) softmax outputs.

    Precision/recall/F1 of a class never predicted (or absent) are 0, as before; sensitivity,
    specificity and AUC of a class that the labels make undefined are None and left out of the
    macro mean."""
    from sklearn.metrics import balanced_accuracy_score, multilabel_confusion_matrix, precision_recall_fscore_support

    probs = np.asarray(probs, np.float64)
    y_true = np.asarray(y_true, np.int64)
    k = len(class_names)
    labels = np.arange(k)
    y_pred = probs.argmax(axis=1)
    n = int(len(y_true))
    cm = confusion_matrix(y_true, y_pred, k)
    precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    mcm = multilabel_confusion_matrix(y_true, y_pred, labels=labels)  # per class [[tn, fp], [fn, tp]]
    tn, fp, fn, tp = (mcm[:, i, j].astype(np.float64) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    sensitivity = [t / (t + f) if t + f > 0 else None for t, f in zip(tp, fn)]
    specificity = [t / (t + f) if t + f > 0 else None for t, f in zip(tn, fp)]
    auc = _per_class(one_vs_rest_auc(y_true, probs, k), class_names) if n else _per_class([None] * k, class_names)
    p_true = np.clip(probs[np.arange(n), y_true], 1e-7, 1.0)  # Keras' epsilon clip

    def dense(v):
        d = {name: float(x) for name, x in zip(class_names, v)}
        d["macro"] = float(np.mean(v))
        return d

    return {
        "n": n,
        "accuracy": float(np.mean(y_pred == y_true)) if n else 0.0,
        "loss": float(-np.log(p_true).mean()) if n else float("nan"),
        "precision": dense(precision),
        "recall": dense(recall),
        "f1": dense(f1),
        "f1_macro": float(np.mean(f1)),
        "sensitivity": _per_class(sensitivity, class_names),
        "specificity": _per_class(specificity, class_names),
        # mean recall over the classes present in y_true (scikit-learn's definition)
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if n else None,
        "auc": auc,
        "auc_macro": auc["macro"],
        "ece": reliability_bins(y_true, probs, ece_bins)["ece"] if n else None,
        "ece_bins": int(ece_bins),
        "confusion": cm.tolist(),
    }


def t_interval(values, confidence: float = 0.95) -> dict:
    """Mean, sample std (ddof=1) and the Student-t confidence interval of the mean.

    With one value the std and interval are undefined and reported as None.
    """
    from scipy import stats

    v = np.asarray(values, np.float64)
    n = int(v.size)
    mean = float(v.mean()) if n else float("nan")
    if n < 2:
        return {"n": n, "mean": mean, "std": None, "ci95": None, "half_width": None, "values": v.tolist()}
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * std / math.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci95": [mean - half, mean + half], "half_width": half,
            "values": v.tolist()}


def _interval_of(pairs, metric: str):
    """t interval of `a[metric] - b[metric]` (b None: of `a[metric]`) over the (a, b) pairs; a
    per-class metric gives one interval per class. None where a record lacks the metric (runs
    written before it existed); undefined (None) values are left out."""
    if not pairs:
        return t_interval([])
    if any(metric not in a or (b is not None and metric not in b) for a, b in pairs):
        return None

    def interval(get):
        values = []
        for a, b in pairs:
            x, y = get(a), (0.0 if b is None else get(b))
            if x is not None and y is not None:
                values.append(x - y)
        return t_interval(values)

    first = pairs[0][0][metric]
    if isinstance(first, dict):
        return {key: interval(lambda r, key=key: r[metric].get(key)) for key in first}
    return interval(lambda r: r[metric])


def summarize_runs(rows: list[dict], metrics=SUMMARY_METRICS) -> dict:
    """{metric: t_interval over the rows} (per-class metrics: {class: t_interval})."""
    out = {m: _interval_of([(r, None) for r in rows], m) for m in metrics}
    return {m: v for m, v in out.items() if v is not None}


def summarize(runs: list[dict], epochs: list[int], metrics=SUMMARY_METRICS) -> dict:
    """{epoch: {metric: t_interval over seeds}} from the per-(seed, epoch) run records."""
    return {str(ep): summarize_runs([r for r in runs if r["epoch"] == ep], metrics) for ep in epochs}


def paired_difference(runs: list[dict], baseline: list[dict], epochs: list[int], metrics=SUMMARY_METRICS) -> dict:
    """Per epoch: the per-seed differences `runs - baseline` (same seed), with mean/std/95 % CI."""
    base = {(r["seed"], r["epoch"]): r for r in baseline}
    out = {}
    for ep in epochs:
        pairs = [(r, base[(r["seed"], ep)]) for r in runs if r["epoch"] == ep and (r["seed"], ep) in base]
        entry = {"seeds": [a["seed"] for a, _ in pairs]}
        for m in metrics:
            d = _interval_of(pairs, m)
            if d is not None:
                entry[m] = d
        out[str(ep)] = entry
    return out


def format_interval(s: dict, scale: float = 100.0) -> str:
    """'91.20 ± 1.30 (n=3)' (half-width of the 95 % CI), or without ± for one value."""
    if s["half_width"] is None:
        return f"{s['mean'] * scale:.2f} (n={s['n']})"
    return f"{s['mean'] * scale:.2f} ± {s['half_width'] * scale:.2f} (n={s['n']})"


def format_summary(summary: dict, metric: str = "accuracy", scale: float = 100.0) -> str:
    """'epoch 5: 91.2 ± 1.3 (n=3); epoch 10: ...' (half-width of the 95 % CI)."""
    return "; ".join(f"epoch {ep}: {format_interval(row[metric], scale)}" for ep, row in summary.items() if metric in row)
