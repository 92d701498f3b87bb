"""Where a GAN step's time goes: each part of `GAN.train_step` timed alone, as its own tf.function.

    python benchmarks/profile_gan_step.py [--size 64] [--batch-size 32] [--reps 30] [-s section.key=value ...]

Parts (batch B, the default config's models, float32 unless -s train.precision=...):
  g_forward        G(z) on B latents, training=True (the D step's fakes)
  g_forward_backward  G and D forward on B fakes + gradient w.r.t. G's weights (the G step)
  d_forward_backward  D forward on [B real; B fake] (packed by gan.pack) + gradient w.r.t. D's weights (the D step)
  diffaugment      the train.diffaugment policy on 2B images (forward only)
  minibatch_std    the minibatch-stddev layer alone on D's last feature map of 2B images
  spectral_norm    D forward with training=True minus training=False (power iterations + assigns)
  rng              the stateless seeds and latent draws of one step
  optimizers       both Adam updates on zero gradients
  train_step       the whole GAN.train_step (trackers included)
  fit_step         one step of `run_fit` (input pipeline, callbacks, trackers) from a real run's
                   history: not here, see bench_gan.py
Prints one JSON line per part (ms per call, share of train_step). The first 3 calls are not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timeit(fn, reps):
    for _ in range(3):
        out = fn()
    _sync(out)
    t = time.perf_counter()
    for _ in range(reps):
        out = fn()
    _sync(out)
    return (time.perf_counter() - t) / reps * 1000


def _sync(out):
    import tensorflow as tf

    for v in tf.nest.flatten(out):
        if hasattr(v, "numpy"):
            v.numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--jit", action="store_true", help="XLA-compile the whole train_step (jit_compile=True)")
    ap.add_argument("--only-step", action="store_true", help="time train_step only")
    ap.add_argument("-s", "--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    import keras
    import numpy as np
    import tensorflow as tf

    from mri_gan.config import load_config
    from mri_gan.gans.augment import diff_augment
    from mri_gan.gans import sampling
    from mri_gan.gans.factory import build_gan
    from mri_gan.gans.gan import pack_images
    from mri_gan.precision import resolve_precision

    cfg = load_config(overrides=args.overrides)
    cfg.train.batch_size = B = args.batch_size
    cfg.train.precision = resolve_precision(cfg.train.precision, "train.precision")
    keras.config.set_dtype_policy(cfg.train.precision)
    gan = build_gan(cfg, args.size)
    G, D = gan.generator, gan.discriminator
    real = tf.constant(np.random.default_rng(0).uniform(-1, 1, (B, args.size, args.size, 1)).astype("float32"))
    s = gan.settings
    z = tf.random.normal((B, s.input_dim))
    seed = tf.constant([1, 2], tf.int32)

    @tf.function
    def g_forward():
        return G(z, training=True)

    @tf.function
    def g_forward_backward():
        with tf.GradientTape() as t:
            loss = tf.reduce_mean(tf.cast(D(pack_images(G(z, training=True), s.pack), training=True), tf.float32))
        return t.gradient(loss, G.trainable_variables)

    fake = g_forward()

    @tf.function
    def d_forward_backward():
        with tf.GradientTape() as t:
            x = pack_images(tf.concat([real, tf.cast(fake, tf.float32)], 0), s.pack)
            loss = tf.reduce_mean(tf.cast(D(x, training=True), tf.float32))
        return t.gradient(loss, D.trainable_variables)

    both = tf.concat([real, tf.cast(fake, tf.float32)], 0)
    packed = pack_images(both, s.pack)

    @tf.function
    def augment():
        return diff_augment(both, cfg.train.diffaugment, seed, s.augment_group) if cfg.train.diffaugment else both

    @tf.function
    def d_train():
        return D(packed, training=True)

    @tf.function
    def d_infer():
        return D(packed, training=False)

    mb = next((layer for layer in D.layers if layer.name == "minibatch_std"), None)
    feat = None
    if mb is not None:
        cut = keras.Model(D.input, mb.input)
        feat = cut(packed)

    @tf.function
    def mbstd():
        return mb(feat)

    @tf.function
    def rng():
        sg = gan.seed_generator
        return sampling.draw_inputs(sg, B, s)[0], sampling.next_seed(sg), sampling.next_seed(sg)

    zeros_d = [tf.zeros_like(v) for v in D.trainable_variables]
    zeros_g = [tf.zeros_like(v) for v in G.trainable_variables]

    @tf.function
    def optimizers():
        gan.d_optimizer.apply(zeros_d, D.trainable_variables)
        gan.g_optimizer.apply(zeros_g, G.trainable_variables)
        return gan.d_optimizer.iterations

    step = tf.function(gan.train_step, jit_compile=args.jit)

    parts = {"g_forward": g_forward, "g_forward_backward": g_forward_backward, "d_forward_backward": d_forward_backward,
             "diffaugment": augment, "d_forward_train": d_train, "d_forward_infer": d_infer,
             "rng": rng, "optimizers": optimizers, "train_step": lambda: step(real)}
    if mb is not None:
        parts["minibatch_std"] = mbstd
    if args.only_step:
        parts = {"train_step": parts["train_step"]}
    ms = {k: timeit(f, args.reps) for k, f in parts.items()}
    if "d_forward_train" in ms:
        ms["spectral_norm"] = ms.pop("d_forward_train") - ms.pop("d_forward_infer")
    total = ms["train_step"]
    for k, v in ms.items():
        print(json.dumps({"size": args.size, "batch": B, "precision": cfg.train.precision, "jit": args.jit,
                          "threads": {v: os.environ.get(v, "") for v in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
                          "overrides": args.overrides, "part": k,
                          "ms": round(v, 2), "share_of_train_step": round(v / total, 3)}))


if __name__ == "__main__":
    main()
