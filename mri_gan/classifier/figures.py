"""Figures of a classify run: confusion matrix and learning curves (matplotlib, Agg backend)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np

from mri_gan.utils import atomic_write_bytes


def _save(fig, path: Path) -> None:
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def plot_confusion(cm, class_names: list[str], path, title: str = "") -> None:
    """Row-normalised confusion matrix with the counts written in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, np.int64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.3 * k + 2, 1.2 * k + 1.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=30, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), n in np.ndenumerate(cm):
        ax.text(j, i, f"{n}\n{norm[i, j]:.0%}", ha="center", va="center", fontsize=8,
                color="white" if norm[i, j] > 0.6 else "black")
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
