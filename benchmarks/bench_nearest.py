"""Nearest-real search: does the MSE shortlist change results, how fast is it, where is the copy threshold?

Three modes (real images only; run from the repo root with the venv active):

  shortlist  Real test images as "fakes" vs the real training images of one class at the prepared
             size: nearest SSIM with shortlist k = 1, 5, 10, 20 and exhaustive search; agreement
             of the chosen index and the SSIM/PSNR means.
  speed      Wall time of the nearest-real search for N "fakes" vs M reals at --size px (images
             preprocessed from the raw dataset with `preprocess_file`, or resized from a PREP),
             with the configured k, and optionally exhaustive.
  calibrate  Real-vs-real nearest OTHER distinct training image (the copy-threshold calibration)
             with k = 10 and exhaustive on a subset of queries; quantiles of the nearest SSIM.

Each mode prints a JSON summary and writes it to --out.

    python benchmarks/bench_nearest.py shortlist --prep runs/prep64 --cls glioma --out X.json
    python benchmarks/bench_nearest.py speed --raw brain-tumor-mri --size 256 --out X.json
    python benchmarks/bench_nearest.py calibrate --prep runs/prep64 --cls glioma --out X.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_prep(prep, split, cls, size=None, limit=None):
    from mri_gan.data.pipeline import list_split, load_uint8

    paths, _, _ = list_split(prep, split, [cls])
    if limit:
        paths = paths[:limit]
    return load_uint8(paths, size)


def load_raw(root, split, cls, size, limit=None):
    from mri_gan.config import DataConfig
    from mri_gan.data.preprocess import preprocess_file

    folder = Path(root) / split / cls
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if limit:
        paths = paths[:limit]
    cfg = DataConfig(size=size)
    return np.stack([preprocess_file(p, size, cfg) for p in paths])


def machine():
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def warm_up():
    import tensorflow as tf

    x = tf.zeros((2, 32, 32, 1))
    tf.image.ssim(x, x, 1.0)


def mode_shortlist(a):
    from mri_gan.metrics.pixel import nearest_real, pair_scores

    real = load_prep(a.prep, "train", a.cls)
    fake = load_prep(a.prep, "test", a.cls, limit=a.n_fake)
    warm_up()
    rows = {}
    ref = None
    runs = [(0, True)] + [(k, norm) for norm in (True, False) for k in a.ks]  # 0 = exhaustive, the reference
    for k, norm in runs:
        t = time.perf_counter()
        idx, s = nearest_real(fake, real, k=k, size=a.shortlist_size, show_progress=False, normalize=norm)
        wall = time.perf_counter() - t
        sc = pair_scores(fake, real[idx], 100.0)
        if ref is None:
            ref = (idx, s)
        name = "exhaustive" if k == 0 else f"k={k} {'standardized' if norm else 'plain'} MSE"
        rows[name] = {
            "wall_s": round(wall, 2), "ssim_mean": float(s.mean()), "ssim_std": float(s.std()),
            "psnr_mean": float(sc["psnr"].mean()), "mse_mean": float(sc["mse"].mean()),
            "same_index_as_exhaustive": float(np.mean(idx == ref[0])),
            "max_ssim_shortfall": float(np.max(ref[1] - s)),
            "mean_ssim_shortfall": float(np.mean(ref[1] - s)),
        }
        print(json.dumps({name: rows[name]}), flush=True)
    return {"mode": "shortlist", "prep": a.prep, "class": a.cls, "n_fake (test images)": len(fake),
            "n_real (train images)": len(real), "size": int(real.shape[1]), "shortlist_size": a.shortlist_size,
            "normalize": a.normalize, "results": rows}


def mode_speed(a):
    from mri_gan.metrics.pixel import nearest_real

    t = time.perf_counter()
    if a.raw:
        real = load_raw(a.raw, "Training", a.cls, a.size)
        fake = load_raw(a.raw, "Training", a.fake_cls, a.size, limit=a.n_fake)
        src = f"raw {a.raw} via preprocess_file at {a.size} px: reals = Training/{a.cls}, fakes = first {a.n_fake} of Training/{a.fake_cls}"
    else:
        real = load_prep(a.prep, "train", a.cls, a.size)
        fake = load_prep(a.prep, "train", a.fake_cls, a.size, limit=a.n_fake)
        src = f"{a.prep} resized to {a.size} px"
    load_s = time.perf_counter() - t
    warm_up()
    rows = {}
    for k in a.ks + ([0] if a.exhaustive else []):
        t = time.perf_counter()
        idx, s = nearest_real(fake, real, k=k, size=a.shortlist_size, show_progress=False, normalize=a.normalize)
        wall = time.perf_counter() - t
        name = "exhaustive" if k == 0 else f"k={k}"
        rows[name] = {"wall_s": round(wall, 2), "ssim_mean": float(s.mean()), "idx": idx}
        print(json.dumps({name: {"wall_s": round(wall, 2), "ssim_mean": float(s.mean())}}), flush=True)
    if "exhaustive" in rows:
        for name, r in rows.items():
            r["same_index_as_exhaustive"] = float(np.mean(r["idx"] == rows["exhaustive"]["idx"]))
    for r in rows.values():
        r.pop("idx")
    return {"mode": "speed", "source": src, "n_fake": len(fake), "n_real": len(real), "size": int(real.shape[1]),
            "shortlist_size": a.shortlist_size, "normalize": a.normalize, "load_s": round(load_s, 1), "results": rows}


def mode_calibrate(a):
    from mri_gan.config import EvalConfig
    from mri_gan.metrics.memorization import calibrate_pixel_threshold
    from mri_gan.metrics.pixel import nearest_real

    train = load_prep(a.prep, "train", a.cls)
    warm_up()
    out = {"mode": "calibrate", "prep": a.prep, "class": a.cls, "n_train": len(train), "size": int(train.shape[1]),
           "normalize": a.normalize}
    qs = [0.5, 0.9, 0.95, 0.99, 0.999]
    for k in a.ks:
        cfg = EvalConfig(shortlist_k=k, shortlist_size=a.shortlist_size, shortlist_normalize=a.normalize)
        t = time.perf_counter()
        thr, nn = calibrate_pixel_threshold(train, cfg, show_progress=False)
        out[f"k={k}"] = {"wall_s": round(time.perf_counter() - t, 2), "threshold_ssim (q=0.01)": thr,
                         "nn_ssim_quantiles": {str(q): float(np.quantile(nn, q)) for q in qs},
                         "share_nn_ssim_above_0.95": float(np.mean(nn > 0.95)),
                         "share_nn_ssim_above_0.99": float(np.mean(nn > 0.99))}
        print(json.dumps({f"k={k}": out[f"k={k}"]}), flush=True)
        if k == a.ks[0]:
            nn_k = nn
    if a.exhaustive_queries:
        # exhaustive for a seeded subset of query images vs all training images (self excluded)
        rng = np.random.default_rng(0)
        q = np.sort(rng.choice(len(train), min(a.exhaustive_queries, len(train)), replace=False))
        t = time.perf_counter()
        _, nn_ex = nearest_real(train, train, k=0, size=a.shortlist_size, exclude_self=True, show_progress=False) \
            if a.exhaustive_queries >= len(train) else _exhaustive_subset(train, q, a.shortlist_size)
        wall = time.perf_counter() - t
        out["exhaustive_subset"] = {"queries": int(len(q)), "wall_s": round(wall, 2),
                                    "same_ssim_as_k": float(np.mean(np.isclose(nn_ex, nn_k[q]))),
                                    "max_ssim_shortfall_of_k": float(np.max(nn_ex - nn_k[q])),
                                    "mean_nn_ssim_exhaustive": float(nn_ex.mean()), "mean_nn_ssim_k": float(nn_k[q].mean())}
        print(json.dumps({"exhaustive_subset": out["exhaustive_subset"]}), flush=True)
    return out


def _exhaustive_subset(train, q, shortlist_size):
    """Exact nearest other distinct image for the query subset `q`, by SSIM against every image."""
    from mri_gan.metrics.pixel import pair_scores

    flat = train.reshape(len(train), -1)
    _, group = np.unique(flat, axis=0, return_inverse=True)
    group = group.ravel()
    best = np.empty(len(q))
    for n, i in enumerate(q):
        s = pair_scores(np.repeat(train[i][None], len(train), 0), train, np.inf)["ssim"]
        s[group == group[i]] = -np.inf
        best[n] = s.max()
    return None, best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["shortlist", "speed", "calibrate"])
    p.add_argument("--prep")
    p.add_argument("--raw", help="raw Kaggle-layout dataset root (speed mode)")
    p.add_argument("--cls", default="glioma")
    p.add_argument("--fake-cls", default="meningioma", help="speed mode: class whose images stand in for fakes")
    p.add_argument("--n-fake", type=int, default=None)
    p.add_argument("--size", type=int, default=None)
    p.add_argument("--ks", type=lambda s: [int(v) for v in s.split(",")], default=None)
    p.add_argument("--shortlist-size", type=int, default=32)
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="plain MSE shortlist (default: per-image standardized, as eval.shortlist_normalize)")
    p.add_argument("--exhaustive", action="store_true", help="speed mode: also time exhaustive search")
    p.add_argument("--exhaustive-queries", type=int, default=0, help="calibrate mode: exhaustive for this many queries")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    a.ks = a.ks or {"shortlist": [1, 5, 10, 20, 50], "speed": [10], "calibrate": [10, 50]}[a.mode]
    if a.mode == "shortlist":
        a.n_fake = a.n_fake or 200
    if a.mode == "speed":
        a.n_fake = a.n_fake or 920
    t = time.perf_counter()
    res = {"shortlist": mode_shortlist, "speed": mode_speed, "calibrate": mode_calibrate}[a.mode](a)
    res["total_wall_s"] = round(time.perf_counter() - t, 1)
    res["command"] = "python " + " ".join([sys.argv[0]] + (argv or sys.argv[1:]))
    res["machine"] = machine()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
