"""Images/second of our GAN `fit` vs a plain keras-io-style implementation of the same two models.

    python benchmarks/bench_gan.py [--sizes 64,128,256] [--batch-size 32] [--steps 8] [--out FILE.json]

Both sides train the proposed generator/discriminator (paper Table I, default config widths) with
BCE and Adam on the same images:
- "keras-io": a minimal `keras.Model` subclass with its own `train_step` (the keras-io DCGAN
  example's structure: sample z, one D step on [fake; real], one G step), float32, fed from a
  float32 NumPy array by `fit(x, batch_size=B)`, steps_per_execution 1.
- "ours": `mri_gan.gans.factory.build_gan` + the `fit` input pipeline (`epoch_dataset`: uint8 in
  memory, gather + scale in tf.data, prefetch), `--precision` (auto: mixed_bfloat16 on a CPU
  with bf16 instructions, else float32), steps_per_execution 4, no DiffAugment (neither side
  augments).
Each (implementation, size) runs in its own process so peak RSS is its own. The first execution
(tracing) is excluded from the timing. Prints a Markdown table (and writes JSON with --out).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    def __init__(self):
        import keras

        class T(keras.callbacks.Callback):
            def __init__(s):
                super().__init__()
                s.times = []

            def on_train_batch_end(s, batch, logs=None):
                s.times.append((batch, time.perf_counter()))

        self.cb = T()


def run_one(impl: str, size: int, batch: int, steps: int, spe: int, precision: str = "auto") -> dict:
    import numpy as np

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from mri_gan.config import Config

    cfg = Config()
    cfg.train.batch_size = batch
    cfg.train.diffaugment = ""  # the keras-io side does not augment: compare the same work
    n = batch * steps
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    head = (((yy - size / 2) / (0.42 * size)) ** 2 + ((xx - size / 2) / (0.36 * size)) ** 2 < 1)
    images = (head[None] * rng.integers(60, 200, (n, size, size))).astype(np.uint8)[..., None]
    timer = _Timer().cb
    if impl == "keras-io":
        from mri_gan.models.discriminator import build_discriminator
        from mri_gan.models.generator import build_generator

        keras.utils.set_random_seed(0)
        gan = _keras_io_gan(build_generator(cfg.gan, size), build_discriminator(cfg.gan, size), cfg.gan.latent_dim)
        gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
                    keras.losses.BinaryCrossentropy(from_logits=True))
        x = images.astype(np.float32) / 127.5 - 1.0
        t0 = time.perf_counter()
        gan.fit(x, batch_size=batch, epochs=1, verbose=0, callbacks=[timer], shuffle=True)
        spe_used = 1
    else:
        from mri_gan.gans.factory import build_gan
        from mri_gan.training.fit import epoch_dataset

        from mri_gan.precision import resolve_precision

        cfg.train.precision = resolve_precision(precision, "--precision")
        cfg.train.steps_per_execution = spe
        keras.config.set_dtype_policy(cfg.train.precision)
        gan = build_gan(cfg, size)
        ds = epoch_dataset(images, None, batch, 0, 0, 1)
        t0 = time.perf_counter()
        gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer], shuffle=False)
        spe_used = spe
    t_end = time.perf_counter()
    (b0, t_first) = timer.times[0]
    timed_steps = steps - (b0 + 1)
    sec = t_end - t_first
    return {"impl": impl, "size": size, "batch": batch, "steps": steps, "timed_steps": timed_steps,
            "precision": cfg.train.precision,
            "steps_per_execution": spe_used, "first_execution_s": round(t_first - t0, 2),
            "step_s": round(sec / timed_steps, 4), "images_per_second": round(timed_steps * batch / sec, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,128,256")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=12, help="steps per run (the first execution is not timed)")
    ap.add_argument("--spe", type=int, default=4, help="steps_per_execution of ours")
    ap.add_argument("--precision", default="auto", help="precision of ours (auto: bf16 where the CPU has it, else float32)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        impl, size = args.one.split(":")
        print("RESULT " + json.dumps(run_one(impl, int(size), args.batch_size, args.steps, args.spe, args.precision)), flush=True)
        return
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        steps = args.steps if size < 256 else max(args.spe * 2, args.steps // 2)
        steps = (steps // args.spe) * args.spe
        for impl in ("keras-io", "ours"):
            t = time.perf_counter()
            p = subprocess.run([sys.executable, __file__, "--one", f"{impl}:{size}", "--batch-size", str(args.batch_size),
                                "--steps", str(steps), "--spe", str(args.spe),
                                "--precision", args.precision], capture_output=True, text=True,
                               env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2"))
            line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
            if p.returncode or not line:
                sys.exit(f"{impl} at {size} px failed:\n{p.stderr[-3000:]}")
            r = json.loads(line[0][7:])
            r["wall_s"] = round(time.perf_counter() - t, 1)
            rows.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    print(f"\nGAN fit throughput, batch {args.batch_size}, {os.cpu_count()} CPU cores\n")
    print("| size | keras-io fp32 img/s | ours img/s (precision) | ratio | keras-io peak RSS | ours peak RSS |")
    print("|---|---|---|---|---|---|")
    for size in sorted({r["size"] for r in rows}):
        a = next(r for r in rows if r["size"] == size and r["impl"] == "keras-io")
        b = next(r for r in rows if r["size"] == size and r["impl"] == "ours")
        print(f"| {size} | {a['images_per_second']} | {b['images_per_second']} ({b['precision']}) | "
              f"{b['images_per_second'] / a['images_per_second']:.2f}x | {a['peak_rss_mb']:.0f} MB | {b['peak_rss_mb']:.0f} MB |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
