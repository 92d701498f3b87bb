"""The classifier's training epoch with XLA against TensorFlow's plain graph, per model variant.

`classifier.jit_compile: auto` XLA-compiles the classifier on a CPU without oneDNN only for models
with augmentation layers; this measures why. Each (variant, mode) runs in its own subprocess on the
same images, batch 32: with --data, the training images of a prepared dir through the package's
pipeline (`make_dataset`: PNGs decoded once, cached, shuffled), as `classify` and the study feed
them; without it, N random images of SIZE px as NumPy arrays. The two modes run side by side in
alternating order, ROUNDS times; an epoch's time is the median (and the minimum) over the epochs
after the first (tracing and compiling), and the table gives XLA's speed as plain / XLA.

    python benchmarks/bench_classifier_xla.py --data study/subsets/n100 --rounds 3 --out runs/bench-clf-xla

Variants: paper (Table II CNN), paper+augment (`classifier.augment`), paper+augment+intensity,
strong (`classifier.preset: strong`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = {
    "paper": {},
    "paper+augment": {"augment": True},
    "paper+augment+intensity": {"augment": True, "augment_intensity": True},
    "strong": {"preset": "strong"},
}


def _child(args) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.threads:  # TensorFlow's intra- and inter-op threads (bench_classifier_procs.py)
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    import numpy as np

    from mri_gan.config import ClassifierConfig
    from mri_gan.models.classifier import build_classifier, build_loss, build_optimizer

    keys = dict(VARIANTS[args.variant])
    c = ClassifierConfig.from_preset(keys.pop("preset", "paper"), **keys)
    if args.data:
        from mri_gan.data.pipeline import list_split, make_dataset

        paths, labels, classes = list_split(Path(args.data), "train")
        size = int(json.loads((Path(args.data) / "prepare.json").read_text())["size"])
        feed = make_dataset(paths, labels, batch_size=32, shuffle=True, seed=0)
        n, n_classes = len(paths), len(classes)
    else:
        rng = np.random.default_rng(0)
        feed = (rng.uniform(-1, 1, (args.n, args.size, args.size, 1)).astype("float32"), rng.integers(0, 4, args.n))
        n, n_classes, size = args.n, 4, args.size
    keras.utils.set_random_seed(0)
    model = build_classifier(c, size, n_classes)
    steps = -(-n // 32)
    model.compile(optimizer=build_optimizer(c, steps, args.epochs), loss=build_loss(c), metrics=["accuracy"],
                  jit_compile=args.jit)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    if args.data:
        model.fit(feed, epochs=args.epochs, callbacks=[Timer()], verbose=0)
    else:
        model.fit(*feed, batch_size=32, epochs=args.epochs, callbacks=[Timer()], verbose=0)
    print(json.dumps({"epoch_s": float(np.median(times[1:])), "min_epoch_s": float(np.min(times[1:])),
                      "first_epoch_s": times[0], "images": n}))


def run_one(variant: str, jit: bool, args) -> dict:
    cmd = [sys.executable, __file__, "--child", "--variant", variant, "--size", str(args.size), "--n", str(args.n),
           "--epochs", str(args.epochs)] + (["--jit"] if jit else []) + (["--data", args.data] if args.data else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="paper", choices=list(VARIANTS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--jit", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--data", default="", help="a prepared dir: its training images through the package's pipeline")
    ap.add_argument("--n", type=int, default=360, help="random training images without --data")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    rows = []
    for variant in args.variants.split(","):
        for r in range(args.rounds):
            order = (False, True) if r % 2 == 0 else (True, False)  # alternate which mode runs first
            t = {jit: run_one(variant, jit, args) for jit in order}
            row = {"variant": variant, "round": r + 1, "plain_s": t[False]["epoch_s"], "xla_s": t[True]["epoch_s"],
                   "plain_min_s": t[False]["min_epoch_s"], "xla_min_s": t[True]["min_epoch_s"],
                   "xla_speed": t[False]["epoch_s"] / t[True]["epoch_s"],
                   "xla_speed_min": t[False]["min_epoch_s"] / t[True]["min_epoch_s"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| variant | round | plain graph, s an epoch (median / min) | XLA (median / min) | XLA speed, medians | XLA speed, minimums |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['variant']} | {row['round']} | {row['plain_s']:.2f} / {row['plain_min_s']:.2f} | "
              f"{row['xla_s']:.2f} / {row['xla_min_s']:.2f} | {row['xla_speed']:.2f}x | {row['xla_speed_min']:.2f}x |")
    if args.out:
        from mri_gan.utils import write_json

        write_json(Path(args.out) / "bench.json", {"rows": rows, "args": vars(args), "cpu_count": os.cpu_count()})


if __name__ == "__main__":
    main()
