"""Does the EMA generator sample better with BatchNorm statistics of its own? A probe, no retraining.

The EMA copy of G averages the trainable weights and copies the live G's BatchNorm moving statistics
(mri_gan/gans/gan.py `_update_ema`), which were measured on the live weights' activations. This script
samples one checkpoint's sampling generator three ways and measures each set with the in-training
quality probe (920 fakes vs as many real training images of the class, classifier features):

- `copied`: as `synthesize` does (inference mode, the copied statistics);
- `batch64`: training-mode BatchNorm, i.e. each batch of 64 normalised by its own statistics;
- `standing`: BigGAN's standing statistics: the moving statistics recomputed for these weights as the
  running mean over K batches of 64 (training mode, momentum k / (k + 1) at batch k), then inference.

    python benchmarks/ema_bn_stats.py --data prep64 --out benchmarks/ema_bn_stats.jsonl RUN[@CHECKPOINT] ...

CHECKPOINT as `synthesize --checkpoint` (default: best). One JSON row per (run, mode) -> OUT.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

COLS = ("kid", "precision", "recall", "coverage", "ms_ssim_ratio", "nearest_ssim", "copy_rate")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="fit run dirs, each optionally @CHECKPOINT")
    ap.add_argument("--data", required=True, help="the prepared dir the runs trained on")
    ap.add_argument("--out", required=True, help="JSONL file the rows are appended to")
    ap.add_argument("--batches", type=int, default=64, help="K: batches of 64 for the standing statistics")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from mri_gan.config import load_config
    from mri_gan.data.pipeline import list_split, load_uint8, to_uint8
    from mri_gan.gans.gan import sample_latent
    from mri_gan.gans.synthesis import load_generator
    from mri_gan.metrics.features import get_extractor
    from mri_gan.metrics.quality import QualityProbe, meets_targets
    from mri_gan.utils import append_jsonl, read_json

    prep = Path(args.data)
    cfg = load_config(None, [])
    feature_fn = get_extractor(cfg.eval.features, cfg.eval, cfg.classifier, prep)
    for spec in args.runs:
        run, _, ck = spec.partition("@")
        run = Path(run)
        cls = read_json(run / "run.json")["class"]
        real = load_uint8(list_split(prep, "train", [cls])[0])
        n = min(cfg.train.eval_n, len(real))
        probe = QualityProbe(real, feature_fn, cfg.eval, n)
        gen = load_generator(run, ck or "best")
        model = gen.model
        z = sample_latent(n, [cfg.train.seed, 7], gen.latent_dim)
        bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
        copied = [np.asarray(layer.moving_mean).copy() for layer in bns]

        def sample(training: bool):
            return to_uint8(np.concatenate([np.asarray(model(z[s:s + 64], training=training))[..., 0]
                                            for s in range(0, n, 64)]))

        sets = {"copied": sample(False), "batch64": sample(True)}  # training=True moves the moving stats:
        momentum = [layer.momentum for layer in bns]  # the standing ones below restart from scratch anyway
        zs = sample_latent(args.batches * 64, [123, 9], gen.latent_dim)
        for k in range(args.batches):
            for layer in bns:
                layer.momentum = k / (k + 1.0)
            model(zs[k * 64:(k + 1) * 64], training=True)
        for layer, m in zip(bns, momentum):
            layer.momentum = m
        sets["standing"] = sample(False)
        shift = [round(float(np.abs(np.asarray(layer.moving_mean) - c).mean() / (np.abs(c).mean() + 1e-8)), 3)
                 for layer, c in zip(bns, copied)]
        for mode, fakes in sets.items():
            q = probe.measure(fakes)
            row = {"run": run.name, "class": cls, "checkpoint": gen.checkpoint, "mode": mode, "n": n,
                   **{k: round(float(q[k]), 4) for k in COLS}, "targets": int(sum(meets_targets(q).values())),
                   "moving_mean_shift": shift}
            append_jsonl(args.out, row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
