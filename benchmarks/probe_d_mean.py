"""Can the discriminator tell the real slices from their MEAN image? (a D-alone probe)

    python benchmarks/probe_d_mean.py PREP [--fake mean|slice] [--steps 400] [section.key=value ...]

A generator collapsed onto one image is safest at the average of the data: a discriminator
that is close to linear in its input gives the average image the same expected logit as the
real distribution (E[w.x + b] = w.E[x] + b), so only D's non-linear capacity (and the
minibatch-stddev channel, which DiffAugment's per-image draws blur) can see the collapse.
This trains the project's D ALONE (Adam train.d_lr / beta_1 / beta_2, BCE, batch 32) on real
glioma slices vs 32 copies of the mean training slice (`--fake mean`) or of one real slice
dimmed by 10 % (`--fake slice`, the ../shared/probes/d_alone.py task), with the config's
DiffAugment policy, and prints BCE and mean logits every 100 steps as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prep")
    ap.add_argument("--fake", choices=["mean", "slice"], default="mean")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--class", dest="class_name", default="glioma")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    import keras
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    from mri_gan.config import load_config
    from mri_gan.gans.augment import diff_augment
    from mri_gan.gans.factory import build_models

    cfg = load_config(overrides=args.overrides)
    files = sorted((Path(args.prep) / "train" / args.class_name).glob("*.png"))
    x = np.stack([np.asarray(Image.open(f)) for f in files]).astype("float32")[..., None] / 127.5 - 1
    fake1 = x.mean(0, keepdims=True) if args.fake == "mean" else x[7:8] * 0.9
    keras.utils.set_random_seed(0)
    _, D = build_models(cfg.gan, x.shape[1])
    opt = keras.optimizers.Adam(cfg.train.d_lr, beta_1=cfg.train.beta_1, beta_2=cfg.train.beta_2)
    policy = cfg.train.diffaugment

    @tf.function
    def step(real, fake, seed):
        with tf.GradientTape() as tape:
            both = tf.concat([real, fake], 0)
            if policy:
                both = diff_augment(both, policy, seed)
            logits = tf.cast(D(both, training=True), tf.float32)
            lr, lf = logits[:32], logits[32:]
            loss = tf.reduce_mean(tf.nn.softplus(-lr)) + tf.reduce_mean(tf.nn.softplus(lf))
        opt.apply(tape.gradient(loss, D.trainable_variables), D.trainable_variables)
        return loss, tf.reduce_mean(lr), tf.reduce_mean(lf)

    rng = np.random.default_rng(0)
    fake = tf.constant(np.repeat(fake1, 32, 0))
    rows = []
    for i in range(args.steps + 1):
        loss, a, b = step(tf.constant(x[rng.integers(0, len(x), 32)]), fake, tf.constant([i, 1], tf.int32))
        if i % 100 == 0:
            rows.append({"step": i, "bce": round(float(loss), 3), "logit_real": round(float(a), 2),
                         "logit_fake": round(float(b), 2)})
    print(json.dumps({"fake": args.fake, "overrides": args.overrides, "trace": rows}))


if __name__ == "__main__":
    main()
