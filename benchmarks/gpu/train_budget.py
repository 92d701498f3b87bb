"""Train one class of a bundle (make_bundle.py) for a wall-clock budget and write what comes back.

Run by `run_256.sh` (which installs the carried wheels and sets KERAS_BACKEND=jax); by hand:

    KERAS_BACKEND=jax python benchmarks/gpu/train_budget.py --bundle benchmarks/gpu/bundle --out OUT \
        --work /tmp/w --size 256 --budget-s 420 --class glioma [--start EPOCH_SECONDS] [-s section.key=value ...]

Steps, all timed: (1) the bundle's JPEGs become a prepared dir WORK/prep (PNG + prepare.json, the
layout of mri_gan/data/pipeline.py); (2) the feature classifier of the quality measurements is
trained there once (cached in WORK/prep/.cache, so the first measurement does not pay for it);
(3) `mri_gan.gans.fit.run_fit` trains --class with the default config (+ -s overrides) into
WORK/run, with `TimeBudget` among its `extra_callbacks`: after two timed epochs it sets the
quality monitor's interval (train.eval_every, kimg) to about one measurement per --eval-s seconds
of training (unless -s train.eval_every=X is given), and at each epoch end it stops the run
(`model.stop_training`) when one more epoch and a measurement would not end before
--start + --budget-s - --tail-s; the epoch it stops at is measured if the last measurement was
earlier (and a run always gets one measurement, even past the budget); (4) the final sample grid,
images/s, peak device memory and timings go to OUT.

OUT holds (the device tool brings back at most 8 files): metrics.jsonl (one quality line per
measurement), history.jsonl (one line per epoch), config.yaml (the run's, with the eval_every
actually used), samples.png (8x8 grid of the final generator), result.json (images/s, peak
memory, timings, versions, stop reason).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def unpack(data_dir: Path, prep: Path, size: int) -> dict:
    """bundle data/train/<class>/*.jpg -> PREP/train/<class>/*.png + prepare.json (grayscale, `size` px)."""
    from concurrent.futures import ThreadPoolExecutor

    import cv2
    import numpy as np

    meta = json.loads((data_dir / "bundle.json").read_text())
    jobs = []
    for cdir in sorted(p for p in (data_dir / "train").iterdir() if p.is_dir()):
        (prep / "train" / cdir.name).mkdir(parents=True, exist_ok=True)
        jobs += [(f, prep / "train" / cdir.name / (f.stem + ".png")) for f in sorted(cdir.glob("*.jpg"))]

    def convert(job):
        src, dst = job
        img = cv2.imdecode(np.fromfile(str(src), dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise RuntimeError(f"cannot decode {src}")
        if img.shape != (size, size):
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".png", img)
        if not ok:
            raise RuntimeError(f"cannot encode {dst}")
        dst.write_bytes(buf.tobytes())

    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        list(pool.map(convert, jobs))
    counts = {c.name: len(list(c.glob("*.png"))) for c in sorted((prep / "train").iterdir()) if c.is_dir()}
    classes = [c for c, n in counts.items() if n > 0]
    info = {"size": size, "classes": classes, "split": "dedup", "counts": {"train": counts},
            "from_bundle": {"jpeg_quality": meta.get("jpeg_quality"), "source": meta.get("source"),
                            "source_size": meta.get("size"), "carried": meta.get("counts")}}
    (prep / "prepare.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


class TimeBudget:
    """Keras callback (built lazily: Keras is imported after the backend is set)."""

    @staticmethod
    def make(deadline: float, tail_s: float, eval_s: float | None, holder: dict, eval_guess_s: float):
        import keras

        class _TimeBudget(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.epoch_train_s: list[float] = []
                self.t_begin = self.t_last_batch = None
                self.reason = None
                self.tuned = eval_s is None  # nothing to tune when eval_every was given
                self.forced = False
                self.train_start = None

            def on_train_begin(self, logs=None):
                if self.train_start is None:
                    self.train_start = time.time()

            def on_epoch_begin(self, epoch, logs=None):
                self.t_begin = self.t_last_batch = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                self.t_last_batch = time.perf_counter()

            def _epoch_s(self) -> float:
                steady = self.epoch_train_s[1:] or self.epoch_train_s  # the first holds the compilation
                return statistics.median(steady[-5:])

            def on_epoch_end(self, epoch, logs=None):
                self.epoch_train_s.append(self.t_last_batch - self.t_begin)
                mon = holder.get("monitor")
                ipe = holder["images_per_epoch"]
                kimg = (epoch + 1) * ipe / 1000.0
                epoch_s = self._epoch_s()
                if not self.tuned and mon is not None and len(self.epoch_train_s) >= 3:
                    rate = ipe / epoch_s
                    every = max(ipe / 1000.0, round(rate * eval_s / 1000.0, 3))
                    mon.every = every
                    mon.next_due = mon._due_after(kimg)
                    holder["eval_every"] = every
                    self.tuned = True
                    log(f"{rate:.0f} img/s: a quality measurement every {every:g} kimg (~{eval_s:.0f} s of training)")
                rows = mon.rows if mon is not None else []
                measured_now = bool(rows) and int(rows[-1]["epoch"]) == epoch + 1
                est_eval = max([r.get("eval_seconds", 0.0) for r in rows[-2:]] or [eval_guess_s])
                left = deadline - tail_s - time.time()
                if measured_now:
                    r = rows[-1]
                    log(f"epoch {epoch + 1}, {kimg:g} kimg: kid {r.get('kid')} recall {r.get('recall')} "
                        f"coverage {r.get('coverage')} nearest_ssim {r.get('nearest_ssim')} "
                        f"({r.get('eval_seconds')} s); {left:.0f} s left")
                last = epoch + 1 >= int(self.params.get("epochs") or 0) > 0  # train.kimg reached
                if left >= epoch_s + est_eval and not self._model.stop_training and not last:
                    return
                if mon is not None and not measured_now and (left >= est_eval or not rows):
                    mon.next_due = kimg  # measure the weights training stops at (once, even past the budget)
                    mon.on_epoch_end(epoch, logs)
                    self.forced = True
                    r = mon.rows[-1]
                    log(f"final measurement at epoch {epoch + 1}: kid {r.get('kid')} recall {r.get('recall')} "
                        f"({r.get('eval_seconds')} s)")
                if last:
                    return
                self.reason = self.reason or (f"time budget: {max(left, 0):.0f} s left < one epoch "
                                              f"({epoch_s:.2f} s) + a measurement ({est_eval:.1f} s)")
                self._model.stop_training = True

        return _TimeBudget()


def peak_device_memory() -> dict:
    import jax

    dev = jax.devices()[0]
    out = {"platform": dev.platform, "device": getattr(dev, "device_kind", str(dev))}
    try:
        stats = dev.memory_stats()
    except Exception as e:  # noqa: BLE001 - not every platform has it
        stats, out["note"] = None, f"memory_stats() failed: {type(e).__name__}"
    if stats:
        for k in ("peak_bytes_in_use", "bytes_in_use", "bytes_limit"):
            if k in stats:
                out[k] = int(stats[k])
        if "peak_bytes_in_use" in stats:
            out["peak_gib"] = round(stats["peak_bytes_in_use"] / 2**30, 3)
    else:
        out.setdefault("note", f"{dev.platform}: jax memory_stats() gives nothing here (host RSS below)")
    import resource

    out["host_peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--budget-s", type=float, default=420.0, help="wall-clock budget, counted from --start")
    ap.add_argument("--start", type=float, default=None, help="when the budget began (epoch seconds; default now)")
    ap.add_argument("--class", dest="cls", default="glioma")
    ap.add_argument("--eval-s", type=float, default=None,
                    help="seconds of training between measurements (default: the training time left / --n-evals)")
    ap.add_argument("--n-evals", type=int, default=6)
    ap.add_argument("--tail-s", type=float, default=10.0, help="kept free at the end for the grid and the files")
    ap.add_argument("--eval-guess-s", type=float, default=20.0, help="a measurement's time until one was timed")
    ap.add_argument("-s", "--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    a = ap.parse_args(argv)
    start = a.start or time.time()
    deadline = start + a.budget_s
    out, work = Path(a.out), Path(a.work)
    out.mkdir(parents=True, exist_ok=True)
    result: dict = {"size": a.size, "class": a.cls, "budget_s": a.budget_s, "overrides": a.overrides, "timings_s": {}}
    T = result["timings_s"]
    T["before_python"] = round(time.time() - start, 2)

    t = time.time()
    prep = work / "prep"
    if prep.exists():
        shutil.rmtree(prep)
    info = unpack(Path(a.bundle) / "data", prep, a.size)
    T["unpack"] = round(time.time() - t, 2)
    result["data"] = info["counts"]["train"]
    log(f"unpacked {sum(info['counts']['train'].values())} images into {prep} ({T['unpack']} s): {info['counts']['train']}")
    if a.cls not in info["classes"]:
        raise SystemExit(f"class {a.cls!r} is not in the bundle ({', '.join(info['classes'])})")

    t = time.time()
    import jax
    import keras

    from mri_gan.backend import keep_tensorflow_out
    from mri_gan.config import load_config
    from mri_gan.gans import fit as fit_mod

    keep_tensorflow_out()
    T["import"] = round(time.time() - t, 2)
    result["versions"] = {"python": sys.version.split()[0], "keras": keras.__version__, "jax": jax.__version__,
                          "backend": keras.backend.backend(), "devices": [str(d) for d in jax.devices()],
                          "keras_from": str(Path(keras.__file__).parent)}
    log(f"keras {keras.__version__} on {keras.backend.backend()}, jax {jax.__version__}, devices {jax.devices()}")

    given_eval = any(o.split("=", 1)[0].strip() == "train.eval_every" for o in a.overrides)
    # bookkeeping only (the recipe stays the default): no checkpoint per epoch, no grid per epoch (the
    # final grid is written below); train.kimg (the default run length) still ends a fast run first
    base = ["train.checkpoint_every=1000000", "train.sample_epochs=1000000"]
    cfg = load_config(None, base + a.overrides)
    if not given_eval:
        cfg.train.eval_every = max(cfg.train.kimg, 1.0)  # retuned by TimeBudget after two timed epochs
    result["kind"] = cfg.gan.kind

    t = time.time()  # the feature classifier of the measurements, trained once before the clock of training
    from mri_gan.metrics.features import get_extractor

    ext = get_extractor(None, cfg.eval, cfg.classifier, prep=prep, show_progress=False)
    T["feature_classifier"] = round(time.time() - t, 2)
    result["feature_model"] = ext.name
    log(f"feature classifier ready ({T['feature_classifier']} s)")
    del ext

    holder: dict = {}
    original = fit_mod._quality_monitor

    def capture(*args, **kwargs):
        mon = original(*args, **kwargs)
        holder["monitor"] = mon
        holder["images_per_epoch"] = mon.images_per_epoch
        return mon

    fit_mod._quality_monitor = capture
    left = deadline - time.time() - a.tail_s
    eval_s = None if given_eval else (a.eval_s or max(5.0, left / max(1, a.n_evals)))
    budget = TimeBudget.make(deadline, a.tail_s, eval_s, holder, a.eval_guess_s)
    run = work / "run"
    if run.exists():
        shutil.rmtree(run)
    t = time.time()
    log(f"training {cfg.gan.kind} on {a.cls} at {a.size} px, {left:.0f} s left (of {a.budget_s:.0f})")
    try:
        summary = fit_mod.run_fit(str(prep), a.cls, str(run), cfg, extra_callbacks=[budget], verbose=0)
    finally:
        fit_mod._quality_monitor = original
    T["training"] = round(time.time() - t, 2)

    from mri_gan.data.pipeline import to_uint8
    from mri_gan.gans.callbacks import write_png
    from mri_gan.images import image_grid
    from mri_gan.utils import read_jsonl

    gan = summary["gan"]
    g = max(1, cfg.train.sample_grid)
    z = gan.sample_latent(g * g, seed=[cfg.train.seed, 7])  # the latents of the run's own grids
    write_png(out / "samples.png", image_grid(to_uint8(keras.ops.convert_to_numpy(gan.generate(z))[..., 0]), g))

    hist = read_jsonl(run / "history.jsonl")
    rows = read_jsonl(run / "metrics.jsonl")
    rates = [h["images_per_second"] for h in hist[1:]] or [h["images_per_second"] for h in hist[:1]]
    images = len(hist) * summary["steps_per_epoch"] * summary["batch_size"]
    result.update({
        "epochs": len(hist), "kimg": round(images / 1000, 3), "images_per_epoch": summary["steps_per_epoch"] * summary["batch_size"],
        "batch_size": summary["batch_size"], "precision": summary.get("precision"),
        "images_per_second": round(statistics.median(rates), 2) if rates else None,
        "images_per_second_note": ("median over epochs after the first (the first compiles)" if len(hist) > 1
                                   else "the only epoch: includes compilation"),
        "images_per_second_overall": round(images / max(T["training"], 1e-9), 2),
        "images_per_second_overall_note": "all images / run_fit's wall time (data decoding, model build, compilation and measurements included)",
        "measurements": len(rows), "eval_seconds": round(sum(r.get("eval_seconds", 0) for r in rows), 2),
        "eval_every_kimg": holder.get("eval_every", cfg.train.eval_every),
        "stopped": budget.reason or ("train.kimg reached" if len(hist) >= summary["epochs"] else summary.get("stopped_early")),
        "final_measurement_forced": budget.forced,
        "last_quality": rows[-1] if rows else None,
        "peak_memory": peak_device_memory(),
        "tensorflow_imported": "tensorflow" in sys.modules,
    })
    import yaml

    c = yaml.safe_load((run / "config.yaml").read_text())
    c["train"]["eval_every"] = result["eval_every_kimg"]  # the interval TimeBudget set
    (run / "config.yaml").write_text(yaml.safe_dump(c, sort_keys=False))
    for name in ("metrics.jsonl", "history.jsonl", "config.yaml"):
        if (run / name).is_file():
            shutil.copyfile(run / name, out / name)
    T["total"] = round(time.time() - start, 2)
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    log(f"{result['epochs']} epochs, {result['kimg']} kimg, {result['images_per_second']} img/s, "
        f"{result['measurements']} measurements, peak memory {result['peak_memory']}; {T['total']} s in all; "
        f"stopped: {result['stopped']}")
    print("RESULT " + json.dumps({k: result[k] for k in ("images_per_second", "kimg", "measurements", "stopped")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
