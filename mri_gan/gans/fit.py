"""`run_fit`: train one GAN on one class (or all, conditional) of a prepared dir into RUN/.

RUN/ holds config.yaml (the resolved config), run.json (data, classes, size, kind), history.jsonl
(one line per finished epoch), samples/ (grids), checkpoints/ (mri_gan/gans/checkpoint.py),
tensorboard/ (TensorFlow only) and, while a process writes it, .lock (mri_gan/lock.py: a second
writer is refused; a lock left by a dead process on this host is taken over). Re-running into an
existing RUN (or `--resume`) restores the newest intact checkpoint (damaged newer ones are named
on stderr and moved to checkpoints/damaged/) and continues exactly: weights, optimizer moments
and iterations, EMA, ADA state, the SeedGenerator state, the epoch counter and the batch
position inside that epoch come from the checkpoint, and the data order of epoch e depends only
on (seed, e), never on how many epochs this process has already run. A Ctrl-C
inside an epoch saves the position (`epoch_batch`: batches of the unfinished epoch already
trained), and the resumed run trains only that epoch's remaining batches before the next, so it
ends with the weights of an uninterrupted run. A Ctrl-C or SIGTERM that arrives while a batch
trains takes effect after that batch's callbacks (mri_gan/interrupts.py, `deferred`), so the
position saved is always the number of batches the weights have seen.

A write error (disk full, quota, a failing disk) on a checkpoint, sample grid, history or metrics
line, or the best snapshot stops training with one line naming the file and the last good
checkpoint, which `--resume` continues from: a failed checkpoint leaves no ckpt-N_temp/ folder
nor any file of its own (mri_gan/gans/checkpoint.py, `GuardedManager`), a failed line is taken
back, the other files are written atomically (mri_gan/utils.py).

On JAX (KERAS_BACKEND=jax) the same loop runs without TensorFlow: images are decoded by OpenCV,
batches come from a Python generator over the same index order (mri_gan/gans/batches.py), checkpoints are .npz files, there
is no TensorBoard (history.jsonl and the sample grids hold the same numbers and images), and
several devices train through `keras.distribution.DataParallel` (mri_gan/gans/strategy.py). A
run continues only on the backend that started it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mri_gan.errors import MriGanError, WriteError, as_write_error
from mri_gan.gans.batches import decode_all, epoch_dataset
from mri_gan.interrupts import catch_sigterm, raise_pending, restore_sigterm
from mri_gan.interrupts import deferred as deferred_interrupts
from mri_gan.interrupts import describe as describe_interrupt
from mri_gan.lock import LOCK_NAME, FolderLock
from mri_gan.utils import atomic_write_text, read_json, read_jsonl, write_json

# train.* keys that may differ when a run is continued (they do not change the trained model)
_RESUMABLE_KEYS = {"epochs", "kimg", "eval_every", "eval_n", "sample_every", "sample_grid", "checkpoint_every", "keep_checkpoints",
                   "strategy", "steps_per_execution", "jit_compile", "patience"}


def select_classes(class_names: list[str], class_name: str | None, conditional: bool) -> tuple[str, list[str]]:
    """(run's class label, classes trained on). `tumor` = every class but notumor; a conditional
    GAN always trains on all classes."""
    if conditional:
        return "all", list(class_names)
    if not class_name:
        raise MriGanError(f"--class is required (one of: {', '.join(class_names)}, tumor, all)")
    if class_name == "all":
        return "all", list(class_names)
    if class_name == "tumor":
        tumours = [c for c in class_names if c != "notumor"]
        if not tumours:
            raise MriGanError("--class tumor: the prepared dir has no class other than notumor")
        return "tumor", tumours
    if class_name not in class_names:
        raise MriGanError(f"unknown class {class_name!r} (classes: {', '.join(class_names)}, tumor, all)")
    return class_name, [class_name]


def _differences(saved, cfg) -> list[str]:
    from mri_gan.config import differences

    ignore = {f"train.{k}" for k in _RESUMABLE_KEYS}
    return [f"{k}: {a!r} -> {b!r}" for k, a, b in differences(saved, cfg, ("gan", "train"), ignore)]


def _validate(cfg, prep, classes) -> None:
    """Every check that needs no TensorFlow, before anything is written into RUN."""
    from mri_gan.data.pipeline import list_split
    from mri_gan.gans.strategy import STRATEGIES

    t = cfg.train
    if t.strategy not in STRATEGIES:
        raise MriGanError(f"unknown train.strategy {t.strategy!r} (choose from {', '.join(STRATEGIES)})")
    if t.batch_size <= 0 or t.epochs < 0:
        raise MriGanError(f"train.batch_size must be > 0 and train.epochs >= 0 (got {t.batch_size}, {t.epochs})")
    n = len(list_split(prep, "train", classes)[0])
    if n < t.batch_size:
        raise MriGanError(f"only {n} training images, fewer than train.batch_size {t.batch_size}: lower it")


def set_budget(train, epochs=None, kimg=None) -> None:
    """The run length a command asked for, onto `train` (a TrainConfig): an explicit epoch count
    alone is the run length (train.kimg 0), an explicit kimg replaces it; None = not given."""
    if epochs is not None:
        train.epochs, train.kimg = int(epochs), 0.0
    if kimg is not None:
        train.kimg = float(kimg)


def _set_length(train, source, epochs, kimg) -> None:
    """Run length onto `train` from `source`'s, then the explicit budget (`set_budget`)."""
    train.epochs, train.kimg = source.epochs, source.kimg
    set_budget(train, epochs, kimg)


def epochs_for(train, images_per_epoch: int) -> int:
    """Epochs of a run: train.epochs, or train.kimg thousand images rounded up to whole epochs."""
    import math

    if train.kimg > 0:
        return max(1, math.ceil(train.kimg * 1000 / images_per_epoch - 1e-9))
    return int(train.epochs)


def _continue_config(saved, cfg, resume: bool, epochs, kimg) -> None:
    """What a continued run takes from this command's `cfg` onto its `saved` config: the run
    length (cfg's unless `resume`, then the explicit budget), the strategy, and the XLA choice (the
    same arithmetic either way: each sitting takes its own machine's)."""
    _set_length(saved.train, saved.train if resume else cfg.train, epochs, kimg)
    saved.train.strategy = cfg.train.strategy if not resume or cfg.train.strategy != "auto" else saved.train.strategy
    saved.train.jit_compile = cfg.train.jit_compile


def planned_config(out, cfg, resume: bool, epochs=None, kimg=None, prep=None, size=None):
    """The config `run_fit` would train RUN=`out` with (for --dry-run): a run's saved config
    continued as `_open_run` does, else `cfg` with the explicit budget and PREP's image size;
    writes nothing."""
    from mri_gan.config import load_saved
    from mri_gan.gans.factory import effective_config

    if out and (Path(out) / "run.json").is_file() and (Path(out) / "config.yaml").is_file():
        saved = effective_config(load_saved(Path(out) / "config.yaml"))
        _continue_config(saved, cfg, resume, epochs, kimg)
        return saved
    if prep:
        cfg.data.size = prepared_size(prep, size)
    set_budget(cfg.train, epochs, kimg)
    return effective_config(cfg)


def prepared_size(prep, size=None, info=None) -> int:
    """The image size of prepared dir PREP (`info`: its prepare.json, when already read); `size`
    (--size), when given, must equal it."""
    from mri_gan.data.pipeline import read_prepared_info

    prep_size = int((info or read_prepared_info(prep)).get("size", 0))
    if size is not None and int(size) != prep_size:
        raise MriGanError(f"--size {size} does not match {prep} (prepared at {prep_size} px): "
                          f"prepare the data at {size} px or drop --size")
    return prep_size


def _open_run(prep, class_name, out: Path, cfg, resume: bool, opts: FitOptions):
    """Decide new run vs continuation; returns (cfg, run_info) with run.json/config.yaml written."""
    from mri_gan.config import load_saved
    from mri_gan.data.pipeline import read_prepared_info
    from mri_gan.gans.factory import effective_config

    run_json = out / "run.json"
    if run_json.is_file():
        run = read_json(run_json)
        if not (out / "config.yaml").is_file():
            raise MriGanError(f"{out} has run.json but no config.yaml: not a complete run dir")
        saved = effective_config(load_saved(out / "config.yaml"))
        if prep and Path(prep).resolve() != Path(run["data"]).resolve():
            raise MriGanError(f"{out} was trained on {run['data']}, not {prep}: use a new --out")
        if class_name and not saved.gan.conditional and class_name != run["class"]:
            raise MriGanError(f"{out} was trained on class {run['class']!r}, not {class_name!r}: use a new --out")
        if not resume:
            cfg.data.size = saved.data.size
            diff = _differences(saved, effective_config(cfg))
            if diff:
                raise MriGanError(f"{out} was trained with a different config ({'; '.join(diff[:3])}): "
                                  "use a new --out, or --resume to continue with the saved config")
        _continue_config(saved, cfg, resume, opts.epochs, opts.kimg)
        saved.save(out / "config.yaml")
        return saved, run
    if resume:
        raise MriGanError(f"nothing to resume: {out} is not a GAN run (no run.json)")
    if out.is_dir() and any(not p.name.startswith(LOCK_NAME) for p in out.iterdir()):
        raise MriGanError(f"--out {out} exists, is not empty and is not a GAN run: choose a new directory")
    if not prep:
        raise MriGanError("--data PREP is required for a new run")
    info = read_prepared_info(prep)
    prep_size = cfg.data.size = prepared_size(prep, opts.size, info)
    _set_length(cfg.train, cfg.train, opts.epochs, opts.kimg)
    if cfg.train.kimg < 0 or cfg.train.eval_every < 0:
        raise MriGanError(f"train.kimg and train.eval_every must be >= 0 (got {cfg.train.kimg}, {cfg.train.eval_every})")
    from mri_gan.gans.monitor import BEST_BY

    if cfg.train.best_by not in BEST_BY:
        raise MriGanError(f"train.best_by must be one of {', '.join(BEST_BY)} (got {cfg.train.best_by!r})")
    class_names = sorted(info["classes"])
    label, classes = select_classes(class_names, class_name, cfg.gan.conditional)
    cfg = effective_config(cfg)  # the kind resolved, once: config.yaml records what training uses
    _validate(cfg, prep, classes)
    run = {"data": str(Path(prep).resolve()), "class": label, "classes": classes, "class_names": class_names,
           "size": prep_size, "kind": cfg.gan.kind, "conditional": bool(cfg.gan.conditional),
           "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(out / "config.yaml")
    write_json(run_json, run)
    return cfg, run


def _quality_monitor(fit_run: FitRun, gan, images_uint8, writer, state, start):
    """The in-training quality callback; its feature model and real statistics are built at the
    first measurement (the feature classifier is cached in PREP/.cache, shared with `evaluate`)."""
    from mri_gan.metrics.features import get_extractor
    from mri_gan.metrics.quality import QualityProbe
    from mri_gan.gans.monitor import HealthWarnings, MonitorPlan, QualityMonitor

    cfg, t, per_epoch = fit_run.cfg, fit_run.cfg.train, fit_run.images_per_epoch

    def probe():
        real = images_uint8[..., 0]  # the training images fit already decoded
        fe = get_extractor(None, cfg.eval, cfg.classifier, prep=fit_run.run["data"], show_progress=False)
        if not fit_run.num_classes:
            return QualityProbe(real, fe, cfg.eval, t.eval_n)
        return [QualityProbe(real[fit_run.labels == c], fe, cfg.eval, t.eval_n) for c in range(fit_run.num_classes)]

    names = tuple(fit_run.run["class_names"]) if fit_run.num_classes else ()
    plan = MonitorPlan(every_kimg=t.eval_every, images_per_epoch=per_epoch, n=t.eval_n, seed=t.seed,
                       num_classes=fit_run.num_classes, class_names=names, batch_size=cfg.synth.batch_size,
                       patience=t.patience, best_by=t.best_by)
    return QualityMonitor(gan, probe, plan, fit_run.out, writer, state, start, HealthWarnings(per_epoch))


def _save_interrupted(gan, manager, epoch_var, batch_var, state, steps: int, history) -> str:
    """The Ctrl-C checkpoint: the current weights with the position they were trained to (epoch
    counter = finished epochs, epoch_batch = batches of the next one), so resume neither repeats
    nor skips a batch. An interrupt after an epoch's last batch but before its epoch-end callbacks
    finished counts the epoch as finished (its history line is written here if it is missing; its
    sample grid or quality line may be)."""
    done = int(epoch_var.numpy())
    if state.epoch >= done:  # the interrupt landed inside epoch `done` (0-based)
        position = state.batch + 1
        if position >= steps:
            if history is not None and history.last_epoch < done + 1:
                history.on_epoch_end(done, {k: float(v) for k, v in gan.get_metrics_result().items()})
            done, position = done + 1, 0
        epoch_var.assign(done)
        batch_var.assign(position)
    step = int(gan.g_optimizer.iterations.numpy())
    latest = manager.latest_checkpoint
    return latest if latest and latest.endswith(f"-{step}") else manager.save(checkpoint_number=step)


def _kept(manager) -> str:
    """What a run has to continue from after a failed write: its newest checkpoint."""
    latest = manager.latest_checkpoint
    return f"the last good checkpoint {latest}" if latest else "no checkpoint yet (the run starts over)"


@dataclass
class FitOptions:
    """How `run_fit` is asked to run (its keyword arguments beside `resume`)."""

    size: int | None = None  # the image size the caller expects (a new run: must match PREP's)
    epochs: int | None = None  # run length in epochs (replaces train.kimg); None = the config's
    kimg: float | None = None  # run length in thousands of images; None = the config's
    verbose: object = "auto"  # Keras' fit verbosity ("auto": a progress bar on a terminal)
    extra_callbacks: list | None = None  # more Keras callbacks, after fit's own


@dataclass
class FitRun:
    """One training run as `run_fit` resolved it when the run started; drives `_train`."""

    cfg: object  # the effective config (factory.effective_config), as RUN/config.yaml holds it
    run: dict  # RUN/run.json
    out: Path  # RUN
    strategy: object  # the distribution strategy (mri_gan/gans/strategy.py)
    paths: list  # the training images
    labels: object  # their class indices (used by a conditional GAN)
    steps: int  # batches per epoch
    num_classes: int  # > 0: a conditional GAN over this many classes
    chief: bool  # this process writes RUN (one process of a multi-worker run; the only one otherwise)
    verbose: object = "auto"
    extra_callbacks: list = field(default_factory=list)

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def images_per_epoch(self) -> int:
        return self.steps * self.cfg.train.batch_size


def run_fit(prep, class_name, out, cfg, resume: bool = False, **options) -> dict:
    """Train (or continue) the GAN of RUN=`out`; returns a summary dict (run, class, kind, images,
    steps_per_epoch, start_epoch, epochs, replicas, seconds, checkpoint, last history line, and
    the trained `gan` object). `options`: the fields of `FitOptions` (size, epochs, kimg,
    verbose, extra_callbacks).

    Raises MriGanError with one line for bad input and for a NaN/inf loss (naming epoch and
    batch; the newest checkpoint is then the last good one). Ctrl-C, and SIGTERM while run_fit
    runs in the main thread (mri_gan/interrupts.py), save a checkpoint (with the batch position
    inside the epoch, see the module docstring) and re-raise KeyboardInterrupt (`Terminated` for
    SIGTERM) marked `reported`: the one line is printed here. A write error (disk full) is one
    MriGanError line naming what could not be written and the checkpoint kept.
    """
    from mri_gan.backend import keep_tensorflow_out
    from mri_gan.data.pipeline import list_split
    from mri_gan.gans.checkpoint import check_backend
    from mri_gan.precision import resolve_precision
    from mri_gan.precision import resolve_jit
    from mri_gan.gans.strategy import get_strategy, is_chief

    keep_tensorflow_out()
    opts = FitOptions(**options)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MriGanError(f"--out {out} exists and is not a directory")
    created = not out.exists()
    previous_sigterm, lock = catch_sigterm(), FolderLock(out, "fit")  # SIGTERM from here on: as Ctrl-C
    try:
        lock.acquire()
        if (out / "checkpoints").is_dir():
            check_backend(out / "checkpoints", f"continue {out}")
        cfg.train.precision = resolve_precision(cfg.train.precision, "train.precision")  # "auto" -> this machine's
        cfg.train.jit_compile = resolve_jit(cfg.train.jit_compile, "train.jit_compile")  # "auto" -> this machine's
        cfg, run = _open_run(prep, class_name, out, cfg, resume, opts)
        t = cfg.train
        strategy = get_strategy(t.strategy)
        replicas = strategy.num_replicas_in_sync
        if t.batch_size % replicas:
            raise MriGanError(f"train.batch_size {t.batch_size} is not divisible by the {replicas} replicas")
        paths, labels, class_names = list_split(run["data"], "train", run["classes"])
        n = len(paths)
        steps = n // t.batch_size
        if steps == 0:
            raise MriGanError(f"only {n} training images, fewer than train.batch_size {t.batch_size}: lower it")
        t.epochs = epochs_for(t, steps * t.batch_size)
        group, pack, per_replica = cfg.gan.minibatch_std, cfg.gan.pack, t.batch_size // replicas  # effective values
        if per_replica % pack:
            raise MriGanError(f"the per-replica batch {per_replica} is not a multiple of gan.pack {pack}")
        if group > 0 and (per_replica // pack) % group:
            raise MriGanError(f"the per-replica batch {per_replica} ({per_replica // pack} D inputs) is not a multiple of "
                              f"gan.minibatch_std {group}: real and fake images would share a minibatch-stddev group; "
                              f"use a train.batch_size divisible by {group * pack * replicas}")
        if t.patience < 0:
            raise MriGanError(f"train.patience must be >= 0, got {t.patience}")
        if t.patience > 0 and type(strategy).__name__ == "MultiWorkerMirroredStrategy":
            raise MriGanError("train.patience (early stop) is measured on the chief only and cannot stop the other "
                              "workers: use train.patience=0 with strategy multiworker")

        fit_run = FitRun(cfg, run, out, strategy, paths, labels, steps,
                         len(class_names) if cfg.gan.conditional else 0, is_chief(strategy), opts.verbose,
                         list(opts.extra_callbacks or []))
        import contextlib

        with getattr(strategy, "fit_scope", contextlib.nullcontext)():
            return _train(fit_run)
    finally:
        lock.release()
        restore_sigterm(previous_sigterm)
        if created and out.is_dir() and not any(out.iterdir()):  # a run refused before it wrote anything
            out.rmdir()


def _train(fit_run: FitRun):
    """run_fit's training part (inside the JAX distribution's scope, if any), in the run's precision."""
    import keras
    import numpy as np

    from mri_gan.backend import is_tensorflow
    from mri_gan.gans import callbacks as cb
    from mri_gan.gans.checkpoint import make_checkpoint, make_manager, restore, saved_position
    from mri_gan.gans.factory import build_gan
    from mri_gan.gans.intact import resume_checkpoint

    cfg, run, out, t, steps = fit_run.cfg, fit_run.run, fit_run.out, fit_run.cfg.train, fit_run.steps
    num_classes, chief, verbose, extra_callbacks = (fit_run.num_classes, fit_run.chief, fit_run.verbose,
                                                    fit_run.extra_callbacks)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(t.precision)
    try:
        with fit_run.strategy.scope():
            gan = build_gan(cfg, run["size"], num_classes)
            if is_tensorflow():
                import tensorflow as tf

                epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
                batch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_batch")
            else:
                epoch_var = keras.Variable(0, dtype="int32", trainable=False, name="epoch")
                batch_var = keras.Variable(0, dtype="int32", trainable=False, name="epoch_batch")
        ckpt = make_checkpoint(gan, epoch_var)
        ckpt_dir = out / "checkpoints"
        if not chief:  # every worker must save (collectives), only the chief's copy is kept
            import tempfile

            ckpt_dir = Path(tempfile.mkdtemp(prefix="mrigan-worker-ckpt-"))
        resume_from = resume_checkpoint(ckpt_dir) if chief else None  # the newest intact one
        manager = make_manager(ckpt, ckpt_dir, t.keep_checkpoints)
        if resume_from:
            restore(ckpt, resume_from)
            batch_var.assign(saved_position(resume_from))
        ckpt.epoch_batch = batch_var  # attached after the restore: checkpoints older than it lack it
        start, offset = int(epoch_var.numpy()), int(batch_var.numpy())
        history_path = out / "history.jsonl"
        if chief:  # drop lines of epochs after the restored checkpoint (a kill between the two writes)
            kept = [r for r in read_jsonl(history_path) if int(r.get("epoch", 0)) <= start]
            import json

            atomic_write_text(history_path, "".join(json.dumps(r) + "\n" for r in kept))
        summary = {"run": str(out), "class": run["class"], "kind": cfg.gan.kind, "images": len(fit_run.paths),
                   "batch_size": t.batch_size, "steps_per_epoch": steps, "start_epoch": start,
                   "start_batch": offset, "epochs": t.epochs, "replicas": fit_run.replicas, "precision": t.precision}
        from mri_gan.gans.monitor import early_stop_reason

        done_early = early_stop_reason([r for r in read_jsonl(out / "metrics.jsonl") if int(r.get("epoch", 0)) <= start],
                                       t.patience, t.best_by) if t.eval_every > 0 and start < t.epochs else None
        if start >= t.epochs or done_early:
            summary.update(seconds=0.0, checkpoint=manager.latest_checkpoint, stopped_early=done_early,
                           last=(read_jsonl(history_path) or [None])[-1])
            return summary

        if not 0 <= offset < steps:
            raise MriGanError(f"the checkpoint {manager.latest_checkpoint} is at batch {offset} of epoch {start + 1}, "
                              f"but an epoch has {steps} batches here: not this run's data")
        images = decode_all(fit_run.paths, run["size"])
        y = fit_run.labels if num_classes else None
        # the rest of an epoch cut short by Ctrl-C first, then whole epochs
        parts = [(start, start + 1, offset), (start + 1, t.epochs, 0)] if offset else [(start, t.epochs, 0)]
        parts = [(a, b, k, epoch_dataset(images, y, t.batch_size, t.seed, a, b, k)) for a, b, k in parts if a < b]
        state = cb.RunState(epoch=start, offset=offset, steps_per_epoch=steps)
        writer = None
        if chief and is_tensorflow():
            import tensorflow as tf

            writer = tf.summary.create_file_writer(str(out / "tensorboard"))
        g = max(1, t.sample_grid)
        z = gan.sample_latent(g * g, seed=[t.seed, 7])
        sample_labels = (np.arange(g * g) // g) % num_classes if num_classes else None
        callbacks = [cb.NonFiniteStop(state)]
        history = None
        if chief:
            history = cb.HistoryWriter(history_path, steps * t.batch_size, state, writer)
            callbacks += [history,
                          cb.SampleGrids(gan, out / "samples", z, sample_labels, t.sample_every, state, writer,
                                         epoch_every=t.sample_epochs)]
            if t.eval_every > 0:
                callbacks.append(_quality_monitor(fit_run, gan, images, writer, state, start))
        callbacks += [cb.EpochCheckpoint(manager, epoch_var, state, t.checkpoint_every, t.epochs, batch_var)]
        callbacks += list(extra_callbacks or []) + [cb.PendingInterrupt()]  # last: after every callback of a batch
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        t0 = time.perf_counter()
        resume_hint = f"continue with `mrigan-tf fit --out {out} --resume`"
        with deferred_interrupts():  # Ctrl-C / SIGTERM raised at a batch's end (mri_gan/interrupts.py)
            try:
                for first, last, skip, ds in parts:
                    state.offset = skip
                    gan.fit(ds, epochs=last, initial_epoch=first, steps_per_epoch=steps - skip, callbacks=callbacks,
                            verbose=verbose, shuffle=False)
                    raise_pending()
                    if state.failure or state.stopped:
                        break
            except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (mri_gan.interrupts.Terminated)
                where = f"{describe_interrupt(e)} at epoch {state.epoch + 1} batch {state.batch + 1}"
                try:
                    path = _save_interrupted(gan, manager, epoch_var, batch_var, state, steps, history)
                    print(f"{where}: checkpoint {path} saved; {resume_hint}", file=sys.stderr, flush=True)
                except WriteError as w:
                    print(f"{where}: {w}; kept: {_kept(manager)}; {resume_hint}", file=sys.stderr, flush=True)
                e.reported = True  # the CLI prints no second line
                raise
            except OSError as e:  # disk full, ...: the files are as they were before that write
                w = as_write_error(e)
                if w is None:
                    raise
                raise MriGanError(f"{w}; training stopped at epoch {state.epoch + 1}; kept: {_kept(manager)}; "
                                  f"{resume_hint} once it can be written") from None
        if state.failure:
            last = manager.latest_checkpoint or "none (no epoch finished)"
            raise MriGanError(f"{state.failure}: training stopped; last good checkpoint: {last}")
        summary.update(seconds=round(time.perf_counter() - t0, 2), checkpoint=manager.latest_checkpoint, stopped_early=state.stopped,
                       last=(read_jsonl(history_path) or [None])[-1] if chief else None, gan=gan)
        if writer is not None:
            writer.close()
        if not chief:
            import shutil

            shutil.rmtree(ckpt_dir, ignore_errors=True)
        return summary
    finally:
        keras.config.set_dtype_policy(previous_policy)
