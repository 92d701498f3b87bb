"""Speed of PSNR/MSE/SSIM and MS-SSIM per implementation on the current Keras backend
(mri_gan/metrics/ssim.py): `tf.image` (TensorFlow backend only), the `keras.ops` code eager and
compiled (`tf.function` on TensorFlow, `jax.jit` on JAX), and `scores()` (what the metrics call:
compiled, batches padded to a power of two). Random images, `--n` pairs in batches of `--batch`
(pixel.SSIM_BATCH).

`--filters`: also time the filtering step alone (the four local-mean maps of one batch, 11 px
Gaussian window) as a 2-D depthwise convolution (tf.image's op; `mri_gan.metrics.ssim` uses it on
TensorFlow), a 2-D convolution with the maps folded into the batch, and the two matrix products
`mri_gan.metrics.ssim` uses on the other backends.

`--prep PREP [--cls glioma]`: instead, time the pixel + diversity half of one in-training quality
measurement (`QualityProbe` without a feature extractor: MS-SSIM within both sets, the copy
threshold's calibration at construction, nearest-real SSIM and copy rate) with 920 "fakes" (the
class's test images, then horizontally flipped training images) against the class's training
images, and print its numbers (they should not depend on the backend).

    python benchmarks/bench_ssim.py --size 64 --n 1024 --filters --out X.json
    KERAS_BACKEND=jax python benchmarks/bench_ssim.py --size 64 --n 1024 --filters --out X.json
    KERAS_BACKEND=jax python benchmarks/bench_ssim.py --prep runs/prep64 --cls glioma --out X.json

Prints and writes a JSON summary: seconds per 1,000 pairs (best of --repeats after one warm-up
pass, so compilation is excluded) for each implementation and metric, and with --filters
milliseconds per batch of each filtering.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--filters", action="store_true", help="also time the filtering step alone")
    ap.add_argument("--prep", default=None, help="time a quality measurement's pixel half on this prepared dir")
    ap.add_argument("--cls", default="glioma")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.prep:
        return write(probe_time(a.prep, a.cls), a.out)

    import keras

    from mri_gan.metrics import ssim as S
    from mri_gan.metrics.diversity import ms_ssim_params

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (a.n, a.size, a.size, 1)).astype(np.float32) / 255.0
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1).astype(np.float32)
    pf, fs = ms_ssim_params(a.size)
    settings = {"ssim+psnr+mse": dict(filter_size=11, power_factors=None, psnr=True),
                "ms_ssim": dict(filter_size=fs, power_factors=pf if len(pf) > 1 else None, psnr=False)}
    backend = keras.backend.backend()
    impls = {"keras_ops_eager": lambda kw: (lambda u, v: S.keras_scores(u, v, **kw))}
    if backend == "tensorflow":
        import tensorflow as tf

        impls["tf_image"] = lambda kw: (lambda u, v: S.tf_scores(u, v, **kw))
        impls["keras_ops_tf_function"] = lambda kw: tf.function(lambda u, v: S.keras_scores(u, v, **kw))
    if backend == "jax":
        import jax

        impls["keras_ops_jax_jit"] = lambda kw: jax.jit(lambda u, v: S.keras_scores(u, v, **kw))
    impls["scores()"] = lambda kw: (lambda u, v: S.scores(u, v, cap=a.batch, **kw))

    res = {}
    for impl, make in impls.items():
        res[impl] = {}
        for metric, kw in settings.items():
            fn = make(kw)

            def run():
                for s in range(0, a.n, a.batch):
                    out = fn(x[s:s + a.batch], y[s:s + a.batch])
                    for v in out.values():
                        np.asarray(v)

            run()  # warm-up (compilation)
            best = float("inf")
            for _ in range(a.repeats):
                t = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - t)
            res[impl][metric] = round(best / a.n * 1000.0, 4)
    summary = {"backend": backend, "size": a.size, "n": a.n, "batch": a.batch, "ms_ssim_scales": len(pf), "ms_ssim_filter": fs,
               "seconds_per_1000_pairs": res, "cpus": os.cpu_count(), "machine": platform.machine()}
    if a.filters:
        summary["filter_ms_per_batch"] = time_filters(a.size, a.batch, a.repeats, backend)
    write(summary, a.out)


def write(summary: dict, out: str | None) -> None:
    print(json.dumps(summary, indent=2))
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)


def probe_time(prep: str, cls: str, n_fake: int = 920) -> dict:
    import sys

    import keras

    from mri_gan.config import Config
    from mri_gan.data.pipeline import list_split, load_uint8
    from mri_gan.metrics.quality import QualityProbe

    real = load_uint8(list_split(prep, "train", [cls])[0])
    test = load_uint8(list_split(prep, "test", [cls])[0])
    fake = np.concatenate([test, real[: max(0, n_fake - len(test)), :, ::-1]])[:n_fake]
    cfg = Config().eval
    t = time.perf_counter()
    probe = QualityProbe(real, None, cfg, len(fake))
    init = time.perf_counter() - t
    times = []
    for _ in range(2):
        t = time.perf_counter()
        row = probe.measure(fake)
        times.append(round(time.perf_counter() - t, 2))
    return {"backend": keras.backend.backend(), "prep": prep, "class": cls, "n_fake": len(fake), "n_real": len(real),
            "size": int(real.shape[1]), "construct_s": round(init, 2), "measure_s": times,
            "row": {k: row[k] for k in ("ms_ssim_fake", "ms_ssim_real", "nearest_ssim", "copy_rate")},
            "tensorflow_imported": "tensorflow" in sys.modules, "cpus": os.cpu_count(), "machine": platform.machine()}


def time_filters(size: int, batch: int, repeats: int, backend: str) -> dict:
    from keras import ops

    from mri_gan.metrics.ssim import filter_matrix, gaussian_taps

    k = 11
    g1 = gaussian_taps(k)
    g2 = np.outer(g1, g1).astype(np.float32)
    m = filter_matrix(size, k)
    z = np.random.default_rng(1).random((batch, size, size, 4), dtype=np.float32)

    def depthwise(u):
        return ops.depthwise_conv(u, np.tile(g2[:, :, None, None], (1, 1, 4, 1)), padding="valid")

    def folded(u):
        u = ops.reshape(ops.transpose(u, (0, 3, 1, 2)), (-1, size, size, 1))
        return ops.conv(u, g2[:, :, None, None], padding="valid")

    def matmul(u):
        return ops.matmul(ops.matmul(m, ops.transpose(u, (0, 3, 1, 2))), np.ascontiguousarray(m.T))

    if backend == "jax":
        import jax

        compile_ = jax.jit
    elif backend == "tensorflow":
        import tensorflow as tf

        compile_ = tf.function
    else:
        def compile_(f):
            return f
    ref = np.transpose(np.asarray(depthwise(z)), (0, 3, 1, 2))
    out = {}
    for name, f in (("depthwise_conv_2d", depthwise), ("conv_2d_folded", folded), ("matmul_separable", matmul)):
        cf = compile_(f)
        r = np.asarray(cf(z))
        r = np.transpose(r, (0, 3, 1, 2)) if name == "depthwise_conv_2d" else r.reshape(ref.shape)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            np.asarray(cf(z))
            best = min(best, time.perf_counter() - t)
        out[name] = {"ms": round(best * 1000.0, 2), "max_abs_diff_vs_depthwise": float(np.abs(r - ref).max())}
    return out


if __name__ == "__main__":
    main()
