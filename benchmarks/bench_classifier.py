"""Speed and memory of the Table II classifier: our tf.data pipeline vs an in-memory baseline.

Each configuration (size, precision, feed, batch) runs in its own subprocess behind a small
launcher that reads `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` after its single child
exits, so each peak RSS belongs to one config. A watchdog kills a child whose RSS passes
--mem-cap-gb, so a too-large batch fails cleanly instead of waking the OOM killer on a shared
machine. Step time: median over the timed steps after --warmup steps (tracing, first decode).

- feed "pipeline": `mri_gan.data.pipeline.make_dataset` over uint8 PNG files on disk
  (decoded, cached as uint8, scaled to [-1, 1] per batch) -> `model.fit`;
- feed "numpy": the same images as one float32 NumPy array in memory -> `model.fit(x, y)`.

    python benchmarks/bench_classifier.py --sizes 128,256,512 --out runs/bench-clf

Prints a Markdown table and writes bench.json into --out. Under KERAS_BACKEND=jax (a GPU machine
without TensorFlow) "pipeline" is the same files through `keras_batches`, steps/s come from the
mean step time up to the synchronising epoch end (JAX dispatches ahead of the device), and the
device's peak memory is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _child(args) -> None:
    """Run one config in this process and print one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import cv2
    import keras
    import numpy as np

    from mri_gan.config import ClassifierConfig
    from mri_gan.data.pipeline import make_dataset
    from mri_gan.models.classifier import build_classifier

    s, bs, steps, warm = args.size, args.batch, args.steps, args.warmup
    n = bs * (steps + warm)
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (n, s, s), dtype=np.uint8)
    labels = rng.integers(0, 4, n)
    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(0)
    model = build_classifier(ClassifierConfig(), s, 4)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.t = []

        def on_train_batch_end(self, batch, logs=None):
            self.t.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            [float(v) for v in (logs or {}).values()]  # waits for the device (JAX dispatches ahead)
            self.t_end = time.perf_counter()

    timer = Timer()
    if args.feed == "pipeline":
        d = Path(tempfile.mkdtemp(prefix="bench-clf-"))
        paths = []
        for i, im in enumerate(imgs):
            p = d / f"{i:05d}.png"
            cv2.imwrite(str(p), im)
            paths.append(str(p))
        del imgs
        ds = make_dataset(paths, labels, batch_size=bs, shuffle=True, seed=0, drop_remainder=True)
        model.fit(ds, epochs=1, callbacks=[timer], verbose=0)
    else:
        x = imgs.astype(np.float32)[..., None] / 127.5 - 1.0
        del imgs
        model.fit(x, labels, batch_size=bs, epochs=1, callbacks=[timer], shuffle=True, verbose=0)
    t = np.diff(np.asarray(timer.t[warm - 1:]))  # steps after the warm-up ones (tracing, first decode)
    res = {"step_s": float(np.median(t)), "steps_timed": int(t.size), "params": int(model.count_params()),
           # mean over the timed steps up to the synchronising epoch end: the step time on an accelerator
           "mean_step_s": (timer.t_end - timer.t[warm - 1]) / max(len(timer.t) - warm, 1),
           "self_maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
           "backend": keras.backend.backend()}
    if keras.backend.backend() == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            res["device_peak_gb"] = stats["peak_bytes_in_use"] / 2**30
    print(json.dumps(res))


def _rss_gb(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def run_config(size, precision, feed, batch, steps, warmup, cap_gb, timeout) -> dict:
    """One config in a subprocess; peak RSS from RUSAGE_CHILDREN measured around that one child."""
    cmd = [sys.executable, __file__, "--child", "--size", str(size), "--precision", precision, "--feed", feed,
           "--batch", str(batch), "--steps", str(steps), "--warmup", str(warmup)]
    # A launcher process per config so RUSAGE_CHILDREN's max is this config's, not the largest so far.
    launcher = [sys.executable, "-c",
                "import json,resource,subprocess,sys; r=subprocess.run(sys.argv[1:]); "
                "print(json.dumps({'rc': r.returncode, 'maxrss_gb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20}))",
                *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(launcher, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    killed = {"why": None}

    def watchdog():
        while proc.poll() is None:
            kids = [int(p) for p in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()] if os.path.exists(f"/proc/{proc.pid}/task/{proc.pid}/children") else []
            rss = sum(_rss_gb(k) for k in kids)
            if rss > cap_gb:
                killed["why"] = f"RSS > {cap_gb} GB"
                for k in kids:
                    os.kill(k, 9)
                return
            if time.perf_counter() - t0 > timeout:
                killed["why"] = f"timeout {timeout} s"
                for k in kids:
                    os.kill(k, 9)
                return
            time.sleep(0.2)

    th = threading.Thread(target=watchdog, daemon=True)
    th.start()
    out, _ = proc.communicate()
    th.join()
    lines = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    res = {"size": size, "precision": precision, "feed": feed, "batch": batch, "wall_s": round(time.perf_counter() - t0, 1),
           "mem_cap_gb": round(cap_gb, 1)}
    launcher_info = lines[-1] if lines else {"rc": None, "maxrss_gb": None}
    res["peak_rss_gb"] = launcher_info["maxrss_gb"]
    if killed["why"] or launcher_info["rc"] != 0 or len(lines) < 2:
        res["error"] = killed["why"] or f"exit code {launcher_info['rc']}"
        return res
    res.update(lines[0])
    step = res["mean_step_s"] if res.get("backend") == "jax" else res["step_s"]  # JAX runs ahead of the device
    res["steps_per_s"] = 1.0 / step
    res["images_per_s"] = batch / step
    return res


def _cap(args) -> float:
    """--mem-cap-gb, lowered to what is available now minus 1 GB (other processes share the machine)."""
    avail = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemAvailable:")) / 2**20
    return min(args.mem_cap_gb, avail - 1.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--feed", default="pipeline")
    ap.add_argument("--sizes", default="128,256,512")
    ap.add_argument("--precision", default="float32")
    ap.add_argument("--precisions", default="float32,mixed_bfloat16")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batch-512", default="32,16,8", help="batch sizes tried at 512 px, largest first, until one fits")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--steps-512", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--mem-cap-gb", type=float, default=21.0)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for prec in args.precisions.split(","):
            if size >= 512:  # find the largest batch that fits, then the in-memory baseline at that batch
                for bs in [int(b) for b in args.batch_512.split(",")]:
                    r = run_config(size, prec, "pipeline", bs, args.steps_512, args.warmup, _cap(args), args.timeout)
                    rows.append(r)
                    print(json.dumps(r), flush=True)
                    if "error" not in r:
                        r = run_config(size, prec, "numpy", bs, args.steps_512, args.warmup, _cap(args), args.timeout)
                        rows.append(r)
                        print(json.dumps(r), flush=True)
                        break
                continue
            for feed in ("pipeline", "numpy"):
                r = run_config(size, prec, feed, args.batch, args.steps, args.warmup, _cap(args), args.timeout)
                rows.append(r)
                print(json.dumps(r), flush=True)
    print()
    print("| size | precision | batch | feed | step (s) | mean step to sync (s) | steps/s | img/s | peak RSS (GB) | device peak (GB) | pipeline/numpy speed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = ""
        if r["feed"] == "pipeline" and "error" not in r:
            base = [b for b in rows if b["feed"] == "numpy" and b["size"] == r["size"] and b["precision"] == r["precision"] and "error" not in b]
            if base:
                ratio = f"{r['steps_per_s'] / base[0]['steps_per_s']:.2f}"
        if "error" in r:
            print(f"| {r['size']} | {r['precision']} | {r['batch']} | {r['feed']} | failed: {r['error']} | | | | {r['peak_rss_gb'] or 0:.1f} | | |")
        else:
            dev = f"{r['device_peak_gb']:.1f}" if "device_peak_gb" in r else ""
            print(f"| {r['size']} | {r['precision']} | {r['batch']} | {r['feed']} | {r['step_s']:.4f} | {r['mean_step_s']:.4f} | "
                  f"{r['steps_per_s']:.2f} | {r['images_per_s']:.1f} | {r['peak_rss_gb']:.1f} | {dev} | {ratio} |")
    if args.out:
        from mri_gan.utils import write_json

        write_json(Path(args.out) / "bench.json", {"rows": rows, "args": vars(args), "cpu_count": os.cpu_count()})


if __name__ == "__main__":
    main()
