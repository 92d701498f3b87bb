"""Figures of a classify run (matplotlib, Agg backend): confusion matrix, learning curves,
one-vs-rest ROC curves and a reliability diagram.

`plot_roc` and `plot_reliability` take labels and probabilities, so a report can draw them from
any run's `test_predictions.npz` (`plot_run_figures` does both for a classify RUN dir)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np

from mri_gan.utils import atomic_write_bytes


def _save(fig, path: Path) -> None:
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def draw_confusion(ax, cm, class_names: list[str], fontsize: int = 8):
    """Draw a row-normalised confusion matrix with the count and row share in each cell on `ax`;
    returns the image (for a colorbar)."""
    cm = np.asarray(cm, np.int64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    k = len(class_names)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=30, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), n in np.ndenumerate(cm):
        ax.text(j, i, f"{n}\n{norm[i, j]:.0%}", ha="center", va="center", fontsize=fontsize,
                color="white" if norm[i, j] > 0.6 else "black")
    return im


def plot_confusion(cm, class_names: list[str], path, title: str = "") -> None:
    """Row-normalised confusion matrix with the counts written in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.3 * k + 2, 1.2 * k + 1.5))
    im = draw_confusion(ax, cm, class_names, fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=9)
    _save(fig, Path(path))
    plt.close(fig)


def plot_curves(history: list[dict], path) -> None:
    """Loss and accuracy per epoch (train dashed, validation solid, test dots) per condition and seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    runs = sorted({(h["condition"], h["seed"]) for h in history})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (cond, seed) in enumerate(runs):
        rows = [h for h in history if h["condition"] == cond and h["seed"] == seed]
        ep = [h["epoch"] for h in rows]
        col = colors[i % len(colors)]
        for ax, key in zip(axes, ("loss", "accuracy")):
            ax.plot(ep, [h.get(key, np.nan) for h in rows], "--", color=col, alpha=0.6)
            ax.plot(ep, [h.get(f"val_{key}", np.nan) for h in rows], "-", color=col, label=f"{cond} seed {seed}")
            tested = [h for h in rows if f"test_{key}" in h]
            ax.plot([h["epoch"] for h in tested], [h[f"test_{key}"] for h in tested], "o", color=col)
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, title="dashed train, solid val, dots test", title_fontsize=7)
    _save(fig, Path(path))
    plt.close(fig)


def plot_roc(y_true, probs, class_names: list[str], path, title: str = "") -> None:
    """One-vs-rest ROC curve per class (scikit-learn's roc_curve), AUC in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from mri_gan.classifier.stats import one_vs_rest_auc

    y_true = np.asarray(y_true, np.int64)
    probs = np.asarray(probs, np.float64)
    aucs = one_vs_rest_auc(y_true, probs, len(class_names))
    fig, ax = plt.subplots(figsize=(5, 4.6))
    for c, (name, auc) in enumerate(zip(class_names, aucs)):
        if auc is None:  # the labels lack this class (or hold nothing else): no curve
            continue
        fpr, tpr, _ = roc_curve(y_true == c, probs[:, c])
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="gray", lw=1)
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right", title="one vs rest", title_fontsize=8)
    ax.set_title(title, fontsize=9)
    _save(fig, Path(path))
    plt.close(fig)


def plot_reliability(y_true, probs, path, n_bins: int | None = None, title: str = "") -> None:
    """Reliability diagram: accuracy per bin of top-class probability against the diagonal,
    the bin counts below; the ECE (same bins) in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mri_gan.classifier.stats import ECE_BINS, reliability_bins

    b = reliability_bins(y_true, probs, n_bins or ECE_BINS)
    edges = np.asarray(b["edges"])
    lo, width = edges[:-1], np.diff(edges)
    acc = np.array([np.nan if a is None else a for a in b["accuracy"]])
    conf = np.array([np.nan if c is None else c for c in b["confidence"]])
    fig, (ax, axc) = plt.subplots(2, 1, figsize=(5, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.bar(lo, np.nan_to_num(acc), width=width, align="edge", edgecolor="black", lw=0.5, label="accuracy")
    ax.bar(lo, np.nan_to_num(conf - acc), bottom=np.nan_to_num(acc), width=width, align="edge",
           color="tab:red", alpha=0.3, label="gap to mean confidence")
    ax.plot([0, 1], [0, 1], ":", color="gray", lw=1)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"{title}{' — ' if title else ''}ECE {b['ece']:.3f} ({len(lo)} equal-width bins)", fontsize=9)
    axc.bar(lo, b["count"], width=width, align="edge", color="gray")
    axc.set_xlabel("top-class probability (confidence)")
    axc.set_ylabel("images")
    axc.set_xlim(0, 1)
    _save(fig, Path(path))
    plt.close(fig)


PREDICTIONS_FILE = "test_predictions.npz"  # y_true, probs, classes of the run's best model on test


def plot_run_figures(run_dir, out_dir=None, title: str = "") -> list[Path]:
    """roc.png and reliability.png from RUN/test_predictions.npz (written by classify) into
    `out_dir` (default RUN/); returns the paths written ([] when the run has no predictions)."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    p = run_dir / PREDICTIONS_FILE
    if not p.is_file():
        return []
    with np.load(p) as z:
        y, probs, classes = z["y_true"], z["probs"], [str(c) for c in z["classes"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_roc(y, probs, classes, out_dir / "roc.png", title=title)
    plot_reliability(y, probs, out_dir / "reliability.png", title=title)
    return [out_dir / "roc.png", out_dir / "reliability.png"]
