"""Images/second of our GAN `fit` vs a plain keras-io-style implementation of the same two models.

    python benchmarks/bench_gan.py [--sizes 64,128,256] [--batch-size 32] [--steps 55] [--rounds 3] [--precision float32]

Both sides train the generator/discriminator of `gan.kind` (default config widths; the default kind
is dcgan since 2026-12-06, `-s gan.kind=proposed` = paper Table I; `-s` overrides reach
both sides, and only the model settings matter to keras-io) with BCE and Adam on the same images
(synthetic heads), side by side, each run in its own process so peak RSS is its own:
- "keras-io": a minimal `keras.Model` subclass with its own `train_step` (the keras-io DCGAN
  example's structure: sample z, one D step on [fake; real], one G step), fed from a float32
  NumPy array by `fit(x, batch_size=B)`, steps_per_execution 1, no augmentation.
- "ours, DiffAugment off": `mrigan-tf fit`'s `run_fit` with the config defaults (input pipeline,
  callbacks: history, sample grids, checkpoint, NaN stop, trackers) but the same computation as
  keras-io: `train.diffaugment=""`, `gan.pack=1` (D scores single images), `train.ema=0`,
  `gan.r1_gamma=0` (no R1 penalty's extra backward pass), `train.reuse_fakes=false` (a fresh
  generator forward for the G step, as keras-io): the like-for-like ratio. Its steps run
  XLA-compiled or as the plain graph as `train.jit_compile` (default auto) resolves on this
  machine (`-s train.jit_compile=true|false` forces one); the keras-io side keeps Keras' own
  default (`jit_compile="auto"`: no XLA on a CPU).
- "ours, defaults": `run_fit` with every default: what a user gets.
One epoch of --steps steps; the first --warmup steps (tracing) are not timed. With --rounds R the
three run R times, each round in another order (a CPU whose speed drifts over minutes then favours
no side), and the table gives each round's ratios and their medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _keras_io_gan(generator, discriminator, latent_dim):
    import keras
    import tensorflow as tf
    from keras import ops

    class KerasIoGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

        def train_step(self, real_images):
            batch_size = ops.shape(real_images)[0]
            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            generated = self.generator(z, training=True)
            combined = ops.concatenate([generated, real_images], axis=0)
            labels = ops.concatenate([ops.zeros((batch_size, 1)), ops.ones((batch_size, 1))], axis=0)
            with tf.GradientTape() as tape:
                d_loss = self.loss_fn(labels, self.discriminator(combined, training=True))
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                preds = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = self.loss_fn(ops.ones((batch_size, 1)), preds)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    return KerasIoGAN()


class _Timer:
    """Wall time from the end of the first batch at or past `warmup` to the end of training."""

    def __init__(self, warmup: int):
        import keras

        outer = self

        class T(keras.callbacks.Callback):
            def on_train_batch_end(s, batch, logs=None):
                if outer.first is None and batch + 1 >= warmup:
                    outer.first = (batch + 1, time.perf_counter())
                outer.last = (batch + 1, time.perf_counter())

        self.first = self.last = None
        self.cb = T()

    def result(self):
        (b0, t0), (b1, t1) = self.first, self.last
        return b1 - b0, t1 - t0


def _heads(n: int, size: int):
    import numpy as np

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    head = (((yy - size / 2) / (0.42 * size)) ** 2 + ((xx - size / 2) / (0.36 * size)) ** 2 < 1)
    return (head[None] * rng.integers(60, 200, (n, size, size))).astype(np.uint8)


def run_one(impl: str, size: int, batch: int, steps: int, warmup: int, precision: str, overrides: list[str]) -> dict:
    """One process: `keras-io` (plain loop, fit from a float32 NumPy array) or `ours` (`run_fit`
    on a prepared dir of synthetic heads: our input pipeline, callbacks and config defaults, then
    `overrides`). One epoch of `steps` steps; the first `warmup` steps (tracing) are not timed."""
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from mri_gan.config import load_config
    from mri_gan.precision import resolve_precision

    cfg = load_config(overrides=overrides)
    cfg.train.batch_size = batch
    cfg.train.precision = resolve_precision(precision, "--precision")
    n = batch * steps
    images = _heads(n, size)
    timer = _Timer(warmup)
    if impl == "keras-io":
        cfg.gan.pack = 1  # the plain loop's D scores single images
        from mri_gan.gans.factory import build_models

        keras.config.set_dtype_policy(cfg.train.precision)
        keras.utils.set_random_seed(0)
        gan = _keras_io_gan(*build_models(cfg.gan, size), cfg.gan.latent_dim)
        gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
                    keras.losses.BinaryCrossentropy(from_logits=True))
        x = images[..., None].astype("float32") / 127.5 - 1.0
        gan.fit(x, batch_size=batch, epochs=1, verbose=0, callbacks=[timer.cb], shuffle=True)
        spe = 1
    else:
        import cv2

        from mri_gan.gans.fit import run_fit

        tmp = Path(tempfile.mkdtemp(prefix="bench-gan-"))
        d = tmp / "prep" / "train" / "glioma"
        d.mkdir(parents=True)
        for i, im in enumerate(images):
            cv2.imwrite(str(d / f"{i:05d}.png"), im)
        (tmp / "prep" / "prepare.json").write_text(json.dumps({"size": size, "classes": ["glioma"]}))
        run_fit(tmp / "prep", "glioma", tmp / "run", cfg, epochs=1, verbose=0, extra_callbacks=[timer.cb])
        spe = cfg.train.steps_per_execution
    timed, sec = timer.result()
    return {"impl": impl, "size": size, "batch": batch, "steps": steps, "timed_steps": timed,
            "precision": cfg.train.precision, "overrides": overrides, "steps_per_execution": spe,
            "diffaugment": cfg.train.diffaugment if impl == "ours" else "",
            "step_s": round(sec / timed, 4), "images_per_second": round(timed * batch / sec, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


VARIANTS = {  # name -> (impl, overrides of ours)
    "keras-io": ("keras-io", []),
    "ours, DiffAugment off": ("ours", ["train.diffaugment=", "gan.pack=1", "train.ema=0", "gan.r1_gamma=0",
                                       "train.reuse_fakes=false"]),
    "ours, defaults": ("ours", []),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,128,256")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=55, help="steps per run, the first --warmup not timed")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1, help="run the three variants this many times, in rotated order")
    ap.add_argument("--precision", default="float32", help="precision of both sides (auto: bf16 where the CPU has it)")
    ap.add_argument("-s", "--set", dest="overrides", action="append", default=[],
                    help="extra config override (both sides: keras-io builds the models of gan.kind)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        impl, size = args.one.split(":")
        print("RESULT " + json.dumps(run_one(impl, int(size), args.batch_size, args.steps, args.warmup,
                                             args.precision, args.overrides)), flush=True)
        return
    rows = []
    names = list(VARIANTS)
    for size in [int(s) for s in args.sizes.split(",")]:
        for rnd in range(args.rounds):
            for name in names[rnd % 3:] + names[:rnd % 3]:  # round r starts with variant r mod 3
                impl, ov = VARIANTS[name]
                t = time.perf_counter()
                cmd = [sys.executable, __file__, "--one", f"{impl}:{size}", "--batch-size", str(args.batch_size),
                       "--steps", str(args.steps), "--warmup", str(args.warmup), "--precision", args.precision]
                for o in ov + args.overrides:  # keras-io reads only the model settings (gan.*)
                    cmd += ["-s", o]
                p = subprocess.run(cmd, capture_output=True, text=True,
                                   env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2"))
                line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
                if p.returncode or not line:
                    sys.exit(f"{name} at {size} px failed:\n{p.stderr[-3000:]}")
                r = json.loads(line[0][7:])
                r["variant"], r["round"], r["wall_s"] = name, rnd + 1, round(time.perf_counter() - t, 1)
                rows.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
    print(f"\nGAN fit throughput, batch {args.batch_size}, {args.precision}, {os.cpu_count()} CPU cores, "
          f"{args.steps - args.warmup} timed steps\n")
    print("| size | round | keras-io img/s | ours, like for like img/s | like-for-like ratio | ours, defaults img/s | "
          "defaults ratio | defaults / like-for-like | peak RSS keras-io / like for like / defaults |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in sorted({r["size"] for r in rows}):
        ratios = []
        for rnd in range(1, args.rounds + 1):
            a, b, c = (next(r for r in rows if r["size"] == size and r["variant"] == v and r["round"] == rnd)
                       for v in VARIANTS)
            ka, kb, kc = a["images_per_second"], b["images_per_second"], c["images_per_second"]
            ratios.append((kb / ka, kc / ka, kc / kb))
            print(f"| {size} | {rnd} | {ka} | {kb} | {kb / ka:.2f}x | {kc} | {kc / ka:.2f}x | {kc / kb:.2f} | "
                  f"{a['peak_rss_mb']:.0f} / {b['peak_rss_mb']:.0f} / {c['peak_rss_mb']:.0f} MB |")
        if args.rounds > 1:
            med = [statistics.median(x) for x in zip(*ratios)]
            print(f"| {size} | median | | | {med[0]:.2f}x | | {med[1]:.2f}x | {med[2]:.2f} | |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
