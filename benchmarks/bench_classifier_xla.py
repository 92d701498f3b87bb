"""The classifier's training epoch with XLA against TensorFlow's plain graph, per model variant.

`classifier.jit_compile: auto` XLA-compiles the classifier on a CPU without oneDNN only for models
with augmentation layers; this measures why. Each (variant, mode) runs in its own subprocess on the
same random images (N images of SIZE px, batch 32, Keras `fit` from NumPy arrays), the modes side by
side in alternating order, ROUNDS times; an epoch's time is the median over the epochs after the
first (tracing and compiling), and the table gives XLA's speed as plain / XLA.

    python benchmarks/bench_classifier_xla.py --rounds 2 --out runs/bench-clf-xla

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
    import keras
    import numpy as np

    from mri_gan.config import ClassifierConfig
    from mri_gan.models.classifier import build_classifier, build_loss, build_optimizer

    keys = dict(VARIANTS[args.variant])
    c = ClassifierConfig.from_preset(keys.pop("preset", "paper"), **keys)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (args.n, args.size, args.size, 1)).astype("float32")
    y = rng.integers(0, 4, args.n)
    keras.utils.set_random_seed(0)
    model = build_classifier(c, args.size, 4)
    steps = -(-args.n // 32)
    model.compile(optimizer=build_optimizer(c, steps, args.epochs), loss=build_loss(c), metrics=["accuracy"],
                  jit_compile=args.jit)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(x, y, batch_size=32, epochs=args.epochs, callbacks=[Timer()], verbose=0)
    print(json.dumps({"epoch_s": float(np.median(times[1:])), "first_epoch_s": times[0]}))


def run_one(variant: str, jit: bool, args) -> float:
    cmd = [sys.executable, __file__, "--child", "--variant", variant, "--size", str(args.size), "--n", str(args.n),
           "--epochs", str(args.epochs)] + (["--jit"] if jit else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])["epoch_s"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="paper", choices=list(VARIANTS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--jit", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--n", type=int, default=360, help="training images (360: N = 100 a class less validation)")
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
            row = {"variant": variant, "round": r + 1, "plain_s": t[False], "xla_s": t[True],
                   "xla_speed": t[False] / t[True]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(f"| variant | round | plain graph, s an epoch | XLA, s an epoch | XLA speed (plain / XLA) |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['variant']} | {row['round']} | {row['plain_s']:.2f} | {row['xla_s']:.2f} | {row['xla_speed']:.2f}x |")
    if args.out:
        from mri_gan.utils import write_json

        write_json(Path(args.out) / "bench.json", {"rows": rows, "args": vars(args), "cpu_count": os.cpu_count()})


if __name__ == "__main__":
    main()
