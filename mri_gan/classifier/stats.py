"""Classification statistics: per run (one seed, one epoch) and across seeds.

Per run, from the true labels and the predicted probabilities: accuracy, cross-entropy loss,
confusion matrix, per-class precision/recall/F1 and their macro means — all vectorised NumPy.
Across seeds: mean, sample std and the 95 % Student-t confidence interval of the mean
(n seeds -> n-1 degrees of freedom). Two conditions run with the same seeds (real+synthetic vs
real-only) are compared by the paired difference per seed, with its own t interval.
"""

from __future__ import annotations

import math

import numpy as np

SUMMARY_METRICS = ("accuracy", "loss", "f1_macro")


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(k, k) counts: rows = true class, columns = predicted class."""
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(y_pred, np.int64)
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b with 0 where b == 0 (precision of a class never predicted is reported as 0)."""
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def classification_stats(y_true, probs, class_names: list[str]) -> dict:
    """Metrics of one evaluation. `probs`: (N, k) softmax outputs."""
    probs = np.asarray(probs, np.float64)
    y_true = np.asarray(y_true, np.int64)
    k = len(class_names)
    y_pred = probs.argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred, k)
    tp = np.diag(cm).astype(np.float64)
    precision = _safe_div(tp, cm.sum(axis=0).astype(np.float64))
    recall = _safe_div(tp, cm.sum(axis=1).astype(np.float64))
    f1 = _safe_div(2 * precision * recall, precision + recall)
    p_true = np.clip(probs[np.arange(len(y_true)), y_true], 1e-7, 1.0)  # Keras' epsilon clip

    def per_class(v):
        d = {name: float(x) for name, x in zip(class_names, v)}
        d["macro"] = float(v.mean())
        return d

    return {
        "n": int(len(y_true)),
        "accuracy": float(tp.sum() / max(len(y_true), 1)),
        "loss": float(-np.log(p_true).mean()) if len(y_true) else float("nan"),
        "precision": per_class(precision),
        "recall": per_class(recall),
        "f1": per_class(f1),
        "f1_macro": float(f1.mean()),
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


def summarize(runs: list[dict], epochs: list[int], metrics=SUMMARY_METRICS) -> dict:
    """{epoch: {metric: t_interval over seeds}} from the per-(seed, epoch) run records."""
    out = {}
    for ep in epochs:
        rows = [r for r in runs if r["epoch"] == ep]
        out[str(ep)] = {m: t_interval([r[m] for r in rows]) for m in metrics}
    return out


def paired_difference(runs: list[dict], baseline: list[dict], epochs: list[int], metrics=SUMMARY_METRICS) -> dict:
    """Per epoch: the per-seed differences `runs - baseline` (same seed), with mean/std/95 % CI."""
    base = {(r["seed"], r["epoch"]): r for r in baseline}
    out = {}
    for ep in epochs:
        pairs = [(r, base[(r["seed"], ep)]) for r in runs if r["epoch"] == ep and (r["seed"], ep) in base]
        entry = {"seeds": [a["seed"] for a, _ in pairs]}
        for m in metrics:
            entry[m] = t_interval([a[m] - b[m] for a, b in pairs])
        out[str(ep)] = entry
    return out


def format_summary(summary: dict, metric: str = "accuracy", scale: float = 100.0) -> str:
    """'5: 91.2 ± 1.3 (n=3); 10: ...' (half-width of the 95 % CI)."""
    parts = []
    for ep, row in summary.items():
        s = row[metric]
        if s["half_width"] is None:
            parts.append(f"epoch {ep}: {s['mean'] * scale:.2f} (n={s['n']})")
        else:
            parts.append(f"epoch {ep}: {s['mean'] * scale:.2f} ± {s['half_width'] * scale:.2f} (n={s['n']})")
    return "; ".join(parts)
