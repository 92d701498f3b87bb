"""What a selection rule keeps and drops: a figure of candidates of one GAN run, with their scores.

    python benchmarks/selection_examples.py RUN --rule confidence --out docs/img/selection_glioma.png
    python benchmarks/selection_examples.py CONDITIONAL_RUN --class glioma --rule confidence --out X.png

Draws `--draws` candidates (seed `--seed`, as `synthesize` does), scores them by the rule
(confidence: the feature classifier's own-class probability; discriminator: D's logit; realism:
the number of real k-NN balls a candidate falls in), and shows the `--show` highest-scored
candidates (kept) above the lowest-scored ones (dropped), beside as many real training images.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np


def scores(rule: str, run: Path, candidates: np.ndarray, real: np.ndarray, cls: str, label=None):
    from mri_gan.config import load_saved
    from mri_gan.gans.selection import discriminator_scorer, feature_classifier
    from mri_gan.metrics.distribution import knn_radii, pairwise_distances
    from mri_gan.utils import read_json

    cfg = load_saved(run / "config.yaml")
    prep = read_json(run / "run.json")["data"]
    if rule == "discriminator":
        return discriminator_scorer(run)[0](candidates, label), "D logit"
    ext, probs, names = feature_classifier(prep, cfg.eval, cfg.classifier)
    if rule == "confidence":
        return probs(candidates)[:, names.index(cls)], f"p({cls})"
    ra, fa = ext(real), ext(candidates)
    k = min(cfg.eval.pr_k, len(real) - 1)
    return (pairwise_distances(ra, fa) <= knn_radii(ra, k)[:, None]).sum(0).astype(float), "real balls containing it"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--rule", default="confidence", choices=["confidence", "discriminator", "realism"])
    ap.add_argument("--class", dest="cls", default="", help="the class to draw (a conditional run's; default: the run's class)")
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--show", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mri_gan.data.pipeline import list_split, load_uint8
    from mri_gan.gans.selection import _label
    from mri_gan.gans.synthesis import _generate_all, load_generator
    from mri_gan.utils import read_json

    run = Path(args.run)
    info = read_json(run / "run.json")
    cls = args.cls or info["class"]
    y = _label(run, cls)
    gen = load_generator(run)
    cand = _generate_all(gen, gen.latent(args.draws, [args.seed, 0]), y, 64)
    real = load_uint8(list_split(info["data"], "train", [cls])[0])
    s, label = scores(args.rule, run, cand, real, cls, y)
    order = np.argsort(-s, kind="stable")
    rows = [("kept (highest)", order[: args.show]), ("dropped (lowest)", order[::-1][: args.show])]
    fig, axes = plt.subplots(3, args.show, figsize=(1.5 * args.show, 5.2), dpi=110)
    for r, (title, idx) in enumerate(rows):
        for j, i in enumerate(idx):
            ax = axes[r, j]
            ax.imshow(cand[i], cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"{s[i]:.2f}", fontsize=9)
            ax.axis("off")
        axes[r, 0].text(-0.1, 0.5, title, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=9, rotation=90)
    rng = np.random.default_rng(0)
    for j, i in enumerate(rng.choice(len(real), args.show, replace=False)):
        axes[2, j].imshow(real[i], cmap="gray", vmin=0, vmax=255)
        axes[2, j].axis("off")
    axes[2, 0].text(-0.1, 0.5, "real (training)", transform=axes[2, 0].transAxes, ha="right", va="center", fontsize=9,
                    rotation=90)
    kept_share = float(np.mean(s >= 0.9)) if args.rule == "confidence" else None
    fig.suptitle(f"{cls}: {args.rule} rule, {label} over {args.draws} draws"
                 + (f"; {kept_share:.0%} have p >= 0.9" if kept_share is not None else ""), fontsize=10)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"{args.out}: median {label} {np.median(s):.3f}" + (f", p >= 0.9: {kept_share:.1%}" if kept_share is not None else ""))


if __name__ == "__main__":
    main()
