"""One GAN training step, TensorFlow vs JAX: images/s of `GAN.fit` on an in-memory
batch with the default config (proposed kind, batch 32, float32 unless -s), each backend in its
own process (a process has one Keras backend).

    python benchmarks/bench_jax_vs_tf.py [--size 64] [--steps 40] [--repeats 3] [-s section.key=value ...]

Per backend: build the default GAN, run 5 steps (compilation, not timed), then `--repeats` times
`--steps` steps in one `fit` call each (the run's callbacks are not included: what differs
between backends is the step). Prints one JSON line per backend with the median img/s and each
repeat's, and the ratio JAX / TF.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import keras
from mri_gan.config import load_config
from mri_gan.gans.factory import build_gan
size, steps, repeats = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cfg = load_config(None, json.loads(sys.argv[5]))
keras.config.set_dtype_policy(cfg.train.precision)
gan = build_gan(cfg, size, 0)
b = cfg.train.batch_size
x = np.tanh(np.random.default_rng(0).standard_normal((b, size, size, 1))).astype(np.float32)
if keras.backend.backend() == "tensorflow":
    import tensorflow as tf
    def feed():
        return tf.data.Dataset.from_tensors(x).repeat()
else:
    def feed():
        def gen():
            while True:
                yield (x,)
        return gen()
gan.fit(feed(), steps_per_epoch=5, epochs=1, verbose=0)
rates = []
for _ in range(repeats):
    t = time.perf_counter()
    gan.fit(feed(), steps_per_epoch=steps, epochs=1, verbose=0)
    rates.append(steps * b / (time.perf_counter() - t))
print("RESULT " + json.dumps({"backend": keras.backend.backend(), "size": size, "batch": b,
                              "precision": cfg.train.precision, "steps": steps,
                              "img_per_s": sorted(rates)[len(rates) // 2], "repeats": [round(r, 1) for r in rates]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("-s", "--set", action="append", default=[], metavar="section.key=value")
    a = ap.parse_args()
    res = {}
    for backend in ("tensorflow", "jax"):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", JAX_PLATFORMS="cpu")
        p = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(a.size), str(a.steps), str(a.repeats),
                            json.dumps(a.set)], capture_output=True, text=True, env=env)
        line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
        if p.returncode or not line:
            sys.exit(f"{backend} failed:\n{p.stderr[-2000:]}")
        res[backend] = json.loads(line[-1][7:])
        print(json.dumps(res[backend]), flush=True)
    print(json.dumps({"jax_over_tf": round(res["jax"]["img_per_s"] / res["tensorflow"]["img_per_s"], 3)}))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 1)}))
