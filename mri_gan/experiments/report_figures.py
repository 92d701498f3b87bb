"""The study report's figures: GAN losses, the copy audit's pairs, a classifier run's curves and
confusion matrix. Each is drawn at the pixel width the page shows it (`FIGURE_WIDTH_IN` x
`FIGURE_DPI`), so its text is at least `MIN_FONT_PT` on screen and in print."""

from __future__ import annotations

from pathlib import Path

from mri_gan.utils import read_json, read_jsonl

FIGURE_DPI = 100  # figures are drawn at the pixel size the page shows them: 1 pt = 100/72 px
FIGURE_WIDTH_IN = 11.0  # 1,100 px: the page's text width
MIN_FONT_PT = 9  # the smallest text drawn in a report figure (12.5 px)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": MIN_FONT_PT,
                         "ytick.labelsize": MIN_FONT_PT, "legend.fontsize": MIN_FONT_PT})
    return plt


def _save(fig, path: Path) -> Path:
    import io

    from mri_gan.utils import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    atomic_write_bytes(path, buf.getvalue())
    return path


def gan_loss_figure(study, size: int, path: Path) -> Path | None:
    plt = _plt()
    runs = [(name, read_jsonl(run / "history.jsonl")) for name, run, _ in study.gan_runs(size)]
    runs = [(n, h) for n, h in runs if h]
    if not runs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(FIGURE_WIDTH_IN, 3.4), layout="constrained")
    for name, h in runs:
        ep = [r["epoch"] for r in h]
        axes[0].plot(ep, [r["d_loss"] for r in h], label=name)
        axes[1].plot(ep, [r["g_loss"] for r in h], label=name)
    axes[0].set_title("discriminator loss")
    axes[1].set_title("generator loss")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, path)
    plt.close(fig)
    return path


def latest_sample_grid(run: Path) -> Path | None:
    files = sorted((run / "samples").glob("epoch*.png")) or sorted((run / "samples").glob("*.png"))
    return files[-1] if files else None


def _gray(path: Path):
    import numpy as np
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        return np.asarray(im.convert("L"))


def _pair_files(study, size: int, rowname, cls: str, ev: dict, pair: dict) -> tuple[Path, Path]:
    """(fake, nearest real) files of one closest pair, found in the study dir first (it may have
    moved since the evaluation wrote its absolute paths)."""
    inputs = ev.get("inputs", {})
    fake_dirs = [study.paths.syn(size, rowname, cls) / cls, Path(inputs.get("fake") or ".")]
    train_dirs = [study.paths.prep(size, study.cfg.study.split) / "train" / cls, Path(inputs.get("train_real") or ".")]
    fake = next((d / pair["fake_file"] for d in fake_dirs if (d / pair["fake_file"]).is_file()), None)
    real = next((d / pair["train_file"] for d in train_dirs if (d / pair["train_file"]).is_file()), None)
    return fake, real


def copy_audit_figure(study, size: int, rowname, path: Path, pairs_per_class: int = 4) -> Path | None:
    """One grid for a synthetic set: a row per class with its `pairs_per_class` fakes closest to
    a training image, each beside that image, the SSIM above the pair (COPY past the class's
    calibrated threshold)."""
    rows = []
    for s, _, _, rn, _, cls in study.synthetic_units():
        p = study.paths.eval(s, rn, cls)
        if s != size or rn != rowname or not p.is_file():
            continue
        ev = read_json(p)
        mem = ev.get("memorization", {})
        pairs = []
        for pair in mem.get("closest_fakes", [])[:pairs_per_class]:
            if "fake_file" not in pair or "train_file" not in pair:
                continue
            fake, real = _pair_files(study, size, rowname, cls, ev, pair)
            if fake is not None and real is not None:
                pairs.append((_gray(fake), _gray(real), float(pair["ssim"])))
        if pairs:
            rows.append((cls, mem.get("copy_threshold_ssim"), pairs))
    if not rows:
        return None
    plt = _plt()
    k = max(len(p) for _, _, p in rows)
    ratios = []
    for j in range(k):
        ratios += [1, 1] + ([0.3] if j < k - 1 else [])
    fig = plt.figure(figsize=(FIGURE_WIDTH_IN, 1.75 * len(rows) + 0.3))
    grid = fig.add_gridspec(len(rows), len(ratios), width_ratios=ratios, left=0.1, right=0.99, top=1 - 0.3 / fig.get_figheight(),
                            bottom=0.02, wspace=0.05, hspace=0.35)
    for i, (cls, thr, pairs) in enumerate(rows):
        for j in range(k):
            for half in (0, 1):
                ax = fig.add_subplot(grid[i, 3 * j + half])
                ax.set_xticks([])
                ax.set_yticks([])
                if j >= len(pairs):
                    ax.axis("off")
                    continue
                fake, real, ssim = pairs[j]
                ax.imshow(real if half else fake, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                ax.set_xlabel("nearest real" if half else "fake", fontsize=MIN_FONT_PT, labelpad=2)
                if half == 0:
                    copy = thr is not None and ssim > thr
                    ax.set_title(f"SSIM {ssim:.2f}{'  COPY' if copy else ''}", loc="left", fontsize=10,
                                 color="tab:red" if copy else "black", pad=3)
                if j == 0 and half == 0:
                    ax.set_ylabel(f"{cls}\ncopy above {thr:.2f}" if thr is not None else cls, fontsize=10)
    _save(fig, path)
    plt.close(fig)
    return path


def classifier_figure(run_dir: Path, path: Path, title: str) -> Path | None:
    """Confusion matrix, one-vs-rest ROC curves and reliability diagram of a classifier run's
    best-validation model on the test split, side by side, from RUN/test_predictions.npz."""
    import numpy as np

    from mri_gan.classifier.figures import PREDICTIONS_FILE, draw_confusion
    from mri_gan.classifier.stats import ECE_BINS, confusion_matrix, one_vs_rest_auc, reliability_bins

    p = run_dir / PREDICTIONS_FILE
    if not p.is_file():
        return None
    with np.load(p) as z:
        y, probs, classes = z["y_true"].astype(np.int64), z["probs"].astype(np.float64), [str(c) for c in z["classes"]]
    k = len(classes)
    plt = _plt()
    fig, (axm, axr, axc) = plt.subplots(1, 3, figsize=(FIGURE_WIDTH_IN, 4.0), layout="constrained")
    draw_confusion(axm, confusion_matrix(y, probs.argmax(1), k), classes, fontsize=10)
    axm.set_title(f"confusion ({len(y)} test images)")
    from sklearn.metrics import roc_curve

    for c, (name, auc) in enumerate(zip(classes, one_vs_rest_auc(y, probs, k))):
        if auc is not None:
            fpr, tpr, _ = roc_curve(y == c, probs[:, c])
            axr.plot(fpr, tpr, label=f"{name} ({auc:.2f})")
    axr.plot([0, 1], [0, 1], ":", color="gray", lw=1)
    axr.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="false positive rate", ylabel="true positive rate")
    axr.grid(alpha=0.3)
    axr.legend(loc="lower right", title="class (AUC)", title_fontsize=MIN_FONT_PT)
    axr.set_title("one-vs-rest ROC")
    b = reliability_bins(y, probs, ECE_BINS)
    edges = np.asarray(b["edges"])
    acc = np.array([np.nan if a is None else a for a in b["accuracy"]])
    axc.bar(edges[:-1], np.nan_to_num(acc), width=np.diff(edges), align="edge", edgecolor="black", lw=0.5)
    axc.plot([0, 1], [0, 1], ":", color="gray", lw=1)
    axc.set(xlim=(0, 1), ylim=(0, 1), xlabel="top-class probability", ylabel="accuracy")
    axc.grid(alpha=0.3)
    axc.set_title(f"reliability: ECE {b['ece']:.2f}")
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, path)
    plt.close(fig)
    return path


# -- numbers for reading -------------------------------------------------------------------------
