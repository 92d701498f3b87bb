"""`run_classify`: the paper's Table V experiment, honestly.

For each seed s (0..seeds-1) ONE training run: `keras.utils.set_random_seed(s)`, data order and
validation split seeded with s, trained for max(epochs) epochs on the real training split minus a
stratified validation part (plus synthetic images, or synthetic only for TSTR). After each epoch
listed in `classifier.epochs` a callback scores the real test split; after training, the weights of
the epoch with the best validation accuracy (chosen on the real validation part, never on test)
are scored on test too (`best_val` in results.json). Synthetic images never enter validation or
test. With `compare_real`, the real-only baseline runs with the same seeds and the
paired difference (condition - baseline, per seed) is reported with its t interval.

Outputs in RUN/: config.yaml, results.json, history.jsonl, best.keras + model.json (the seed and
epoch with the best validation accuracy), test_predictions.npz (that model's test probabilities),
confusion.png (last listed epoch, summed over seeds), roc.png and reliability.png (best.keras on
test), curves.png, tensorboard/ (TensorFlow backend only).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mri_gan.classifier import stats
from mri_gan.classifier.data import class_counts, inverse_frequency_weights, list_synthetic, train_val_split
from mri_gan.classifier.figures import PREDICTIONS_FILE
from mri_gan.classifier.record import (MODEL_FILE, MODEL_INFO, ClassifyPlan, as_recorded, build_results,
                                       keep_finished_seeds, resumable, reusable_baseline, reused_best)
from mri_gan.errors import MriGanError, as_write_error
from mri_gan.interrupts import catch_sigterm, raise_pending, restore_sigterm
from mri_gan.interrupts import deferred as deferred_interrupts
from mri_gan.interrupts import describe as describe_interrupt
from mri_gan.precision import compute_device
from mri_gan.utils import append_jsonl, ensure_empty_or_new, write_json


def _check_cfg(c) -> list[int]:
    epochs = sorted(set(int(e) for e in c.epochs))
    if not epochs or epochs[0] < 1:
        raise MriGanError(f"classifier.epochs must be positive integers, got {c.epochs}")
    if c.seeds < 1:
        raise MriGanError(f"classifier.seeds must be >= 1, got {c.seeds}")
    if c.batch_size < 1:
        raise MriGanError(f"classifier.batch_size must be >= 1, got {c.batch_size}")
    as_recorded(c)
    return c.epochs


def prepared_data_config(prep: Path, cfg):
    """The data settings `prepare` used (PREP/config.yaml), with the prepared size: predict reuses them."""
    from mri_gan.config import load_saved
    from mri_gan.data.pipeline import read_prepared_info

    info = read_prepared_info(prep)
    data_cfg = load_saved(prep / "config.yaml", sections=("data",)).data if (prep / "config.yaml").is_file() else dataclasses.replace(cfg.data)
    data_cfg.size = int(info["size"])
    return data_cfg


class _TestAtEpochs:
    """Factory for the Keras callback (Keras is imported lazily)."""

    @staticmethod
    def make(test_ds, y_test, epochs, class_names, on_epoch):
        import keras

        class TestAtEpochs(keras.callbacks.Callback):
            """Score the real test split after the listed epochs; keep the best-validation weights."""

            def __init__(self):
                super().__init__()
                self.best_val = -1.0
                self.best_epoch = 0
                self.best_weights = None
                self._t0 = time.perf_counter()

            def on_epoch_begin(self, epoch, logs=None):
                self._t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                ep = epoch + 1
                logs = {k: float(v) for k, v in (logs or {}).items()}
                seconds = time.perf_counter() - self._t0
                val_acc = logs.get("val_accuracy", -1.0)
                if val_acc > self.best_val:
                    self.best_val, self.best_epoch = val_acc, ep
                    self.best_weights = [np.array(w) for w in self.model.get_weights()]
                result = None
                if ep in epochs:
                    probs = self.model.predict(test_ds, verbose=0)
                    result = stats.classification_stats(y_test, probs, class_names)
                on_epoch(ep, logs, seconds, result)

        return TestAtEpochs()


def synthetic_epochs(c, epochs: int) -> int:
    """How many of a real + synthetic run's `epochs` train with the synthetic images
    (classifier.synthetic_share of them, rounded, at least 1); the rest train on the real ones."""
    return min(epochs, max(1, int(round(float(c.synthetic_share) * epochs))))


def _train_one(cond: str, seed: int, train, val, test, plan: ClassifyPlan, finish=None):
    """One training run of condition `cond`; returns (per-epoch test records, callback with best
    weights, model, the best-validation epoch's test scores, its test probabilities). `finish`:
    the real training images (paths, labels) that the epochs after `synthetic_epochs` train on."""
    import keras

    from mri_gan.backend import is_tensorflow, set_random_seed
    from mri_gan.data.pipeline import make_dataset
    from mri_gan.models.classifier import build_classifier, build_loss, build_optimizer

    class_names, size, cfg, epochs, out, verbose = (plan.class_names, plan.size, plan.cfg, plan.epochs, plan.out,
                                                    plan.verbose)
    c = cfg.classifier
    # Deliberately process-wide: each seed's model must start from the same Keras state (layer-name
    # counters, freed graphs of the previous seed) for "a seed's run depends only on its seed" (the
    # resume == straight test), and run_classify restores the caller's dtype policy at its end.
    # clear_session also resets the global dtype policy: set it again after.
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(c.precision)
    set_random_seed(seed)  # keras.utils.set_random_seed, keeping TensorFlow out on other backends
    model = build_classifier(c, size, len(class_names))
    last = max(epochs)
    switch = synthetic_epochs(c, last) if finish is not None else last
    steps = -(-len(train[0]) // c.batch_size)
    total = steps * switch + (-(-len(finish[0]) // c.batch_size)) * (last - switch) if switch < last else None
    model.compile(optimizer=build_optimizer(c, steps, last, total), loss=build_loss(c), metrics=["accuracy"],
                  jit_compile=c.jit_compile == "true")  # resolved once, by as_recorded in _check_cfg
    buf = cfg.data.shuffle_buffer
    train_ds = make_dataset(train[0], train[1], batch_size=c.batch_size, shuffle=True, seed=seed, shuffle_buffer=buf)
    val_ds = make_dataset(val[0], val[1], batch_size=c.batch_size, shuffle=False)
    test_ds = make_dataset(test[0], None, batch_size=c.batch_size, shuffle=False)
    runs: list[dict] = []

    def on_epoch(ep, logs, seconds, result):
        rec = {"condition": cond, "seed": seed, "epoch": ep, "seconds": round(seconds, 3), **logs}
        if switch < last:  # the epochs after the switch train on the real images alone
            rec["trained_on"] = cond if ep <= switch else "real"
        if result is not None:
            rec.update({"test_accuracy": result["accuracy"], "test_loss": result["loss"], "test_f1_macro": result["f1_macro"],
                        "test_balanced_accuracy": result["balanced_accuracy"], "test_auc_macro": result["auc_macro"],
                        "test_ece": result["ece"]})
            runs.append({"seed": seed, "epoch": ep, "val_accuracy": logs.get("val_accuracy"),
                         "val_loss": logs.get("val_loss"), **result})
        append_jsonl(out / "history.jsonl", rec)

    from mri_gan.gans.callbacks import PendingInterrupt

    cb = _TestAtEpochs.make(test_ds, test[1], epochs, class_names, on_epoch)
    callbacks = [cb]
    if is_tensorflow():  # Keras writes TensorBoard logs through tf.summary: not on JAX, to keep TensorFlow out
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out / "tensorboard" / f"{cond}-seed{seed}"),
                                                     write_graph=False, profile_batch=0))
    elif seed == 0 and verbose:
        print(f"TensorBoard logs skipped on the {keras.backend.backend()} backend (history.jsonl has the same numbers)",
              flush=True)
    callbacks.append(PendingInterrupt())  # last: a Ctrl-C / SIGTERM recorded meanwhile is raised here
    class_weight = inverse_frequency_weights(train[1], len(class_names)) if c.class_weights else None
    model.fit(train_ds, validation_data=val_ds, epochs=switch, callbacks=callbacks,
              class_weight=class_weight, shuffle=False, verbose=verbose)  # the dataset shuffles (seeded)
    if switch < last:  # the same model and optimizer go on with the real images alone
        real_ds = make_dataset(finish[0], finish[1], batch_size=c.batch_size, shuffle=True, seed=seed,
                               shuffle_buffer=buf)
        real_weight = inverse_frequency_weights(finish[1], len(class_names)) if c.class_weights else None
        model.fit(real_ds, validation_data=val_ds, initial_epoch=switch, epochs=last, callbacks=callbacks,
                  class_weight=real_weight, shuffle=False, verbose=verbose)
    model.set_weights(cb.best_weights)
    probs = np.asarray(model.predict(test_ds, verbose=0), np.float64)
    best_run = {"seed": seed, "epoch": cb.best_epoch, "val_accuracy": cb.best_val,
                **stats.classification_stats(test[1], probs, class_names)}
    return runs, cb, model, best_run, probs


def _kept(out: Path) -> str:
    """What a cut-short classify run keeps: the seeds its results.json holds."""
    from mri_gan.utils import read_json

    try:
        done = read_json(out / "results.json").get("seeds_done", []) if (out / "results.json").is_file() else []
    except (MriGanError, OSError):
        done = []
    return f"{out / 'results.json'} with seeds {done}" if done else "no finished seed"


def _save_model(model, path: Path) -> None:
    """`model.save(path)` through a temporary file renamed into place: a failed write (disk full)
    leaves the earlier file as it was and no temporary file, and raises WriteError."""
    from mri_gan.errors import write_error

    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise write_error(path, e) from None


def _save_npz(path: Path, **arrays) -> None:
    import io

    from mri_gan.utils import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


@dataclasses.dataclass(frozen=True)
class ClassifyOptions:
    """How `run_classify` is asked to run (its keyword arguments beside `synthetic_dirs`)."""

    compare_real: bool | None = None  # also train on the real images alone (None: classifier.compare_real)
    synthetic_only: bool | None = None  # train on the synthetic images alone (None: classifier.synthetic_only)
    export_dir: object = None  # also export the best model as a TensorFlow SavedModel here
    overwrite: bool = False  # replace an existing RUN
    resume: bool = False  # keep the seeds an earlier run in RUN finished
    verbose: int = 2  # Keras' fit verbosity


def run_classify(prep, out, cfg, synthetic_dirs=(), **options) -> dict:
    """Train and score the Table II CNN over seeds; write RUN/ (see module doc); return results.
    `options`: the fields of `ClassifyOptions` (compare_real, synthetic_only, export_dir,
    overwrite, resume, verbose).

    `resume`: keep the seeds an earlier run in `out` finished (its results.json is rewritten after
    each seed) and train only the missing ones, e.g. after an interruption or to go from 1 to 3
    seeds. The earlier run must have the same data, synthetic images and classifier settings (but
    `seeds`); each seed's training depends only on its seed, so the result equals one uninterrupted
    run. Without an earlier results.json it starts afresh; with an incompatible one it stops with
    the reason, or starts over when `overwrite` is also set.

    Ctrl-C, and SIGTERM in the main thread (mri_gan/interrupts.py), print one line naming the
    seeds kept and re-raise (marked `reported`); a write error (disk full) is one MriGanError line
    naming the file and the seeds kept. Either way `resume` continues."""
    import keras

    from mri_gan.backend import keep_tensorflow_out
    from mri_gan.data.pipeline import list_split, read_prepared_info

    keep_tensorflow_out()
    o = ClassifyOptions(**options)
    export_dir, overwrite, resume, verbose = o.export_dir, o.overwrite, o.resume, o.verbose
    c = cfg.classifier
    compare_real = c.compare_real if o.compare_real is None else bool(o.compare_real)
    synthetic_only = c.synthetic_only if o.synthetic_only is None else bool(o.synthetic_only)
    c.compare_real, c.synthetic_only = compare_real, synthetic_only
    epochs = _check_cfg(c)
    prep = Path(prep)
    info = read_prepared_info(prep)
    size = int(info["size"])
    real_paths, real_labels, class_names = list_split(prep, "train")
    test_paths, test_labels, _ = list_split(prep, "test")
    if not real_paths or not test_paths:
        raise MriGanError(f"{prep} has an empty train or test split")
    syn_paths, syn_labels = list_synthetic(synthetic_dirs, class_names, size, prep)
    if (compare_real or synthetic_only) and not syn_paths:
        raise MriGanError("--compare-real and --synthetic-only need synthetic images (--synthetic DIR)")
    if synthetic_only and c.synthetic_share < 1:
        raise MriGanError(f"classifier.synthetic_share {c.synthetic_share:g} ends a run on the real images; "
                          "--synthetic-only trains on none")
    mode = "synthetic-only" if synthetic_only else ("real+synthetic" if syn_paths else "real")
    if export_dir is not None and importlib.util.find_spec("tensorflow") is None:
        raise MriGanError("--export writes a TensorFlow SavedModel and needs TensorFlow installed "
                          "(or export best.keras later with `mrigan-tf export`)")

    reused = reusable_baseline(c.baseline_from, prep, cfg) if compare_real and c.baseline_from else None
    out = Path(out)
    prior = None
    if resume:
        try:
            prior = resumable(out, prep, cfg, mode, synthetic_dirs, len(syn_paths))
        except MriGanError:
            if not overwrite:  # resume + overwrite: continue when compatible, else start over
                raise
    if prior is None:
        ensure_empty_or_new(out, overwrite or (resume and (out / "config.yaml").is_file()))
        for name in ("history.jsonl", "results.json"):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "tensorboard", ignore_errors=True)
    data_cfg = prepared_data_config(prep, cfg)
    cfg.data.size = size
    cfg.save(out / "config.yaml")

    policy_before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(c.precision)
    real_paths_arr = np.asarray(real_paths)
    seeds = list(range(c.seeds))
    conditions = [mode] + (["real"] if compare_real and reused is None else [])
    all_runs = {cond: [] for cond in conditions}
    best_runs = {cond: [] for cond in conditions}  # per seed: the best-validation epoch's test scores
    if reused is not None:
        conditions.append("real")
        all_runs["real"] = reused
        best_runs["real"] = reused_best(c.baseline_from)
    balance = {}
    best = {"val_accuracy": -1.0}
    kept: list[int] = []
    t_start = time.perf_counter()
    if prior is not None:
        kept = keep_finished_seeds(out, prior, conditions, reused, all_runs, best_runs)
        balance = prior["class_balance"]
        best = {k: v for k, v in prior["best_model"].items() if k != "file"}
        t_start -= float(prior.get("wall_seconds", 0.0))  # the wall time of the whole run, both parts
        if verbose:
            todo = [s for s in seeds if s not in kept]
            print(f"resuming {out}: seeds {kept} kept, training {todo or 'none'}", flush=True)

    device = compute_device()  # provenance: the backend and device that computed these seeds

    plan = ClassifyPlan(prep=prep, out=out, cfg=cfg, info=info, mode=mode, seeds=seeds, epochs=epochs,
                        class_names=class_names, conditions=conditions, synthetic_dirs=list(synthetic_dirs),
                        n_synthetic=len(syn_paths), device=device, verbose=verbose)

    def save_results() -> dict:
        res = build_results(plan, all_runs, best_runs, balance, best, time.perf_counter() - t_start, kept)
        write_json(out / "results.json", res)  # after each seed: a cut-short run keeps its numbers
        return res

    results = None
    previous_sigterm = catch_sigterm()  # SIGTERM (a scheduler's stop) as Ctrl-C: the finished seeds stay
    seed = None
    try:
        with deferred_interrupts():  # Ctrl-C / SIGTERM raised at a batch's end or between seeds
            for seed in seeds:
                raise_pending()
                if seed in kept:
                    continue
                tr_idx, va_idx = train_val_split(real_labels, c.val_fraction, seed)
                val = (list(real_paths_arr[va_idx]), real_labels[va_idx])
                for cond in conditions:
                    if cond == "real" and reused is not None:
                        continue
                    if cond == "synthetic-only":
                        train = (list(syn_paths), syn_labels)
                    elif cond == "real+synthetic":
                        train = (list(real_paths_arr[tr_idx]) + list(syn_paths),
                                 np.concatenate([real_labels[tr_idx], syn_labels]))
                    else:
                        train = (list(real_paths_arr[tr_idx]), real_labels[tr_idx])
                    if seed == seeds[0]:
                        balance[cond] = {"train": class_counts(train[1], class_names)}
                        balance["val"] = class_counts(val[1], class_names)
                        balance["test"] = class_counts(test_labels, class_names)
                        balance["train_synthetic"] = class_counts(syn_labels, class_names)
                    finish = None
                    if cond == "real+synthetic" and c.synthetic_share < 1:
                        finish = (list(real_paths_arr[tr_idx]), real_labels[tr_idx])
                    t0 = time.perf_counter()
                    runs, cb, model, best_run, probs = _train_one(cond, seed, train, val, (test_paths, test_labels), plan,
                                                                  finish=finish)
                    for r in runs + [best_run]:
                        r["train_seconds"] = round(time.perf_counter() - t0, 2)
                    all_runs[cond] += runs
                    best_runs[cond].append(best_run)
                    if cond == mode and cb.best_val > best["val_accuracy"]:
                        _save_model(model, out / MODEL_FILE)  # _train_one left the best-validation weights in it
                        _save_npz(out / PREDICTIONS_FILE, y_true=np.asarray(test_labels, np.int64), probs=probs,
                                  classes=np.asarray(class_names), files=np.asarray([str(p) for p in test_paths]))
                        best = {"val_accuracy": cb.best_val, "seed": seed, "epoch": cb.best_epoch}
                        write_json(out / MODEL_INFO, {"model": MODEL_FILE, "size": size, "classes": class_names,
                                                      "data": dataclasses.asdict(data_cfg), "prep": str(prep),
                                                      "precision": c.precision, "condition": cond, **best})
                        if export_dir is not None:
                            from mri_gan.classifier.export import export_savedmodel

                            export_savedmodel(model, export_dir, size, class_names, dataclasses.asdict(data_cfg))
                    del model
                results = save_results()
            raise_pending()
        if results is None:  # every seed was kept from the earlier run
            results = save_results()
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (mri_gan.interrupts.Terminated)
        print(f"{describe_interrupt(e)} during seed {seed}: {_kept(out)}; continue with "
              f"`mrigan-tf classify ... --out {out} --resume`", file=sys.stderr, flush=True)
        e.reported = True  # the CLI prints no second line
        raise
    except OSError as e:  # disk full, ...: what was written before is whole
        w = as_write_error(e)
        if w is None:
            raise
        raise MriGanError(f"{w}; stopped during seed {seed}; kept: {_kept(out)}; continue with "
                          f"`mrigan-tf classify ... --out {out} --resume` once it can be written") from None
    finally:
        restore_sigterm(previous_sigterm)
        keras.mixed_precision.set_global_policy(policy_before)
    from mri_gan.classifier.figures import plot_confusion, plot_curves, plot_run_figures
    from mri_gan.utils import read_jsonl

    last = [r for r in all_runs[mode] if r["epoch"] == epochs[-1]]
    try:
        plot_confusion(np.sum([r["confusion"] for r in last], axis=0), class_names, out / "confusion.png",
                       title=f"{mode}, epoch {epochs[-1]}, summed over {len(last)} seed(s)")
        plot_run_figures(out, title=f"best.keras (seed {best.get('seed')}, epoch {best.get('epoch')}, best validation)")
        plot_curves(read_jsonl(out / "history.jsonl"), out / "curves.png")
    except OSError as e:  # disk full, ...
        w = as_write_error(e)
        if w is None:
            raise
        raise MriGanError(f"{w}; kept: {_kept(out)} (`mrigan-tf classify ... --out {out} --resume` draws the "
                          f"figures again)") from None
    return results
