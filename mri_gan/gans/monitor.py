"""Quality measured while training, and a warning when a run is failing.

`QualityMonitor` (a Keras callback of `fit`): at the first epoch end past every multiple of
`train.eval_every` kimg, it draws `train.eval_n` fakes from the sampling generator (the EMA copy
when `train.ema` > 0) with a fixed latent seed and measures them with a `QualityProbe`
(mri_gan/metrics/quality.py: KID, FID, precision/recall/density/coverage with equal set sizes,
within-set MS-SSIM and its ratio to the reals', nearest-real SSIM, copy rate) against the real
training images of the run's classes. One JSON line per measurement goes to RUN/metrics.jsonl
(with the epoch, kimg, seconds spent, `run_minutes` — the run's minutes of training and measurement
up to it, every sitting — and D's health from the epoch's logs) and, on the TensorFlow
backend, to TensorBoard under `quality/` (on JAX there is no writer: TensorFlow stays out); the
best measurement so far is kept as RUN/checkpoints/best (generator and EMA generator only;
`synthesize --checkpoint best`), described by RUN/checkpoints/best/best.json.

"Best" is `train.best_by`: `targets` (the default) = the most of the quality targets met
(mri_gan/metrics/quality.py TARGETS: recall, coverage, MS-SSIM ratio, KID, nearest SSIM, copy
rate), ties broken by the lower KID; `kid` = the lowest KID alone. KID alone is noisy from one
measurement to the next (a pituitary run's lowest KID, 0.042, came 30 kimg before a measurement with
KID 0.044 and coverage 0.43 instead of 0.32), and it does not see the pixel-level realism that
keeps rising late in a run (nearest SSIM, docs/history.md "Longer runs").

A conditional run measures each class on its own: `train.eval_n` fakes of the class (the same
latents for every class) against that class's training images. Its line holds them under
`classes` ({class: measurement}) and, at the top level, the measurement of its worst class (the
lowest `snapshot_score`), named by `worst_class`; a measurement is as good as its worst class, so
the best snapshot is the one whose worst class is best. TensorBoard gets each class under
`quality/<class>/`.

Early stop (`train.patience` = N > 0): when N measurements in a row have not improved on the best
one, the run ends at that epoch end (a checkpoint is written there, one line on stderr says why);
`early_stop_reason` reads the same from metrics.jsonl, so `fit --resume` of such a run has nothing
left to do. The best snapshot is what `synthesize --checkpoint best` samples either way.

`HealthWarnings`: one line on stderr, once each, when D has sat at chance (mean of its real and
fake accuracies below 0.6) for `CHANCE_KIMG` kimg in a row, or when the fakes' MS-SSIM has stayed
above `COLLAPSE_RATIO` x the reals' for two measurements in a row: the signs of a run that will
not improve with more budget (issue "Synthetic MRI worth using").
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from mri_gan.metrics.quality import meets_targets
from mri_gan.utils import append_jsonl, atomic_write_text, read_jsonl

CHANCE_ACCURACY = 0.6  # D's mean accuracy on real and fake below this = "at chance"
CHANCE_KIMG = 20.0  # warn after this many kimg at chance in a row
COLLAPSE_RATIO = 2.0  # warn when ms_ssim_fake / ms_ssim_real stays above this


def kimg_at(epoch_end: int, images_per_epoch: int) -> float:
    return epoch_end * images_per_epoch / 1000.0


BEST_BY = ("targets", "kid")


def snapshot_score(row: dict, best_by: str = "targets"):
    """How good a measurement row is under `best_by` (a tuple: larger is better), None without a KID.
    A conditional row (with `classes`) scores as its worst class."""
    if "classes" in row:
        scores = [snapshot_score(r, best_by) for r in row["classes"].values()]
        return None if not scores or None in scores else min(scores)
    if row.get("kid") is None:
        return None
    if best_by == "kid":
        return (-row["kid"],)
    return (sum(meets_targets(row).values()), -row["kid"])


def worst_class(per_class: dict, best_by: str = "targets") -> str:
    """The class of {class: measurement} with the lowest `snapshot_score` (one without a score first;
    ties: the first in order)."""
    def key(name):
        sc = snapshot_score(per_class[name], best_by)
        return (sc is not None, sc or ())

    return min(per_class, key=key)


def _measured(row: dict, best_by: str) -> str:
    met = meets_targets(row)
    targets = f"{sum(met.values())}/{len(met)} targets, " if best_by == "targets" else ""
    return f"{targets}KID {row['kid']:.4g}"


def _describe(row: dict, best_by: str) -> str:
    if "classes" in row:
        name = worst_class(row["classes"], best_by)
        what = f"worst class {name}: {_measured(row['classes'][name], best_by)}"
    else:
        what = _measured(row, best_by)
    return f"{what} at kimg {row.get('kimg')}, epoch {row.get('epoch')}"


def early_stop_reason(rows: list[dict], patience: int, best_by: str = "targets") -> str | None:
    """Why a run with these measurement rows (metrics.jsonl, in order) stops early, or None: the
    last `patience` rows did not improve on the best row before them (`snapshot_score`)."""
    if patience <= 0:
        return None
    scores = [snapshot_score(r, best_by) for r in rows]
    if len(scores) <= patience or any(sc is None for sc in scores):
        return None
    best_before = max(scores[:-patience])
    if max(scores[-patience:]) > best_before:
        return None
    at = rows[scores.index(best_before)]
    what = "KID" if best_by == "kid" else "the best measurement (targets met, then KID)"
    return (f"{what} has not improved for {patience} measurements (best: {_describe(at, best_by)}; "
            f"last at kimg {rows[-1].get('kimg')})")


class HealthWarnings:
    """Tracks D's accuracy per epoch and diversity per measurement; prints each warning once."""

    def __init__(self, images_per_epoch: int, stream=None):
        self.images_per_epoch = images_per_epoch
        self.stream = stream or sys.stderr
        self.chance_kimg = 0.0
        self.collapsed = 0
        self.warned: set[str] = set()

    def _warn(self, key: str, text: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            print(f"warning: {text}", file=self.stream, flush=True)

    def epoch(self, epoch_end: int, logs: dict) -> None:
        if "d_acc_real" not in logs or "d_acc_fake" not in logs:
            return
        acc = 0.5 * (float(logs["d_acc_real"]) + float(logs["d_acc_fake"]))
        self.chance_kimg = self.chance_kimg + self.images_per_epoch / 1000.0 if acc < CHANCE_ACCURACY else 0.0
        if self.chance_kimg >= CHANCE_KIMG:
            self._warn("chance", f"the discriminator has been at chance (accuracy {acc:.2f}) for the last "
                                 f"{self.chance_kimg:.0f} kimg (epoch {epoch_end}): the generator gets no signal; "
                                 "more budget will not help (docs/history.md, 'Ending the collapse')")

    def quality(self, row: dict) -> None:
        ratio = row.get("ms_ssim_ratio")
        if "classes" in row:  # a conditional run: its most collapsed class
            ratio = max((r["ms_ssim_ratio"] for r in row["classes"].values() if r.get("ms_ssim_ratio") is not None),
                        default=None)
        self.collapsed = self.collapsed + 1 if ratio is not None and ratio > COLLAPSE_RATIO else 0
        if self.collapsed >= 2:
            self._warn("collapse", f"the fakes' MS-SSIM has stayed {ratio:.2f}x the reals' for {self.collapsed} "
                                   f"measurements (kimg {row.get('kimg')}): mode collapse")


@dataclass(frozen=True)
class MonitorPlan:
    """When and what `QualityMonitor` measures (train.eval_every, eval_n, patience, best_by)."""

    every_kimg: float  # measure at the first epoch end past each multiple of this (0 = never)
    images_per_epoch: int
    n: int  # fakes per measurement
    seed: int  # their latents: sample_latent(n, [seed, 13])
    num_classes: int = 0  # > 0: a conditional GAN, each class measured on its own
    class_names: tuple = ()  # the names of labels 0 .. num_classes - 1 (default: "0", "1", ...)
    batch_size: int = 64  # fakes generated per call
    patience: int = 0  # early stop after this many measurements without a new best (0 = off)
    best_by: str = "targets"  # BEST_BY


class QualityMonitor(keras.callbacks.Callback):
    """Measures `gan`'s fakes per `plan` into RUN/metrics.jsonl and keeps the best as
    RUN/checkpoints/best (module docstring); `probe_factory()` builds the `QualityProbe` at the
    first measurement (conditional: a list, one probe per label against that class's reals); rows
    of epochs after `start_epoch` (a rewound run) are dropped."""

    def __init__(self, gan, probe_factory, plan: MonitorPlan, run_dir, writer=None, state=None,
                 start_epoch: int = 0, warnings: HealthWarnings | None = None):
        super().__init__()
        self.gan, self.probe_factory, self.probe = gan, probe_factory, None
        self.every, self.images_per_epoch, self.n = float(plan.every_kimg), int(plan.images_per_epoch), int(plan.n)
        self.metrics_path, self.best_dir = Path(run_dir) / "metrics.jsonl", Path(run_dir) / "checkpoints" / "best"
        self.writer, self.state, self.warnings, self.batch_size = writer, state, warnings, int(plan.batch_size)
        self.z = gan.sample_latent(self.n, seed=[plan.seed, 13])
        self.class_names = [str(c) for c in (plan.class_names or range(plan.num_classes))]
        self.rows = [r for r in read_jsonl(self.metrics_path) if int(r.get("epoch", 0)) <= start_epoch]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in self.rows))
        self.best_by = best_by = plan.best_by
        # the snapshot checkpoints/best holds is the last row flagged best (a run resumed under another
        # train.best_by keeps it until a measurement beats it under the new rule)
        saved = [r for r in self.rows if r.get("best") and r.get("kid") is not None]
        scores = [sc for sc in (snapshot_score(r, best_by) for r in (saved[-1:] or self.rows)) if sc is not None]
        self.best_score = max(scores) if scores else None
        self.next_due = self._due_after(kimg_at(start_epoch, self.images_per_epoch))
        self.seconds = 0.0
        self.patience = int(plan.patience)

    def _run_minutes(self, epoch: int, eval_seconds: float) -> float:
        """Minutes the run has taken up to this measurement, every sitting: its epochs' seconds
        (RUN/history.jsonl, written before this callback) plus every measurement's so far."""
        epochs = sum(float(r.get("seconds", 0.0)) for r in read_jsonl(self.metrics_path.with_name("history.jsonl"))
                     if int(r.get("epoch", 0)) <= epoch)
        evals = sum(float(r.get("eval_seconds", 0.0)) for r in self.rows) + eval_seconds
        return round((epochs + evals) / 60.0, 3)

    def _due_after(self, kimg: float) -> float:
        return (np.floor(kimg / self.every + 1e-9) + 1) * self.every if self.every > 0 else float("inf")

    def fakes_uint8(self, label: int | None = None) -> np.ndarray:
        """The measurement's fakes (of class `label` for a conditional GAN) as uint8 (n, H, W)."""
        from mri_gan.data.pipeline import to_uint8

        out = []
        for s in range(0, self.n, self.batch_size):
            z = self.z[s:s + self.batch_size]
            lab = None if label is None else np.full(len(z), label)
            out.append(np.asarray(self.gan.generate(z, lab))[..., 0])
        return to_uint8(np.concatenate(out))

    def _measure(self) -> dict:
        """The quality fields of one measurement: the probe's, or for a conditional GAN the worst
        class's with `worst_class` and every class's under `classes`."""
        if not self.class_names:
            return self.probe.measure(self.fakes_uint8())
        per_class = {name: probe.measure(self.fakes_uint8(c))
                     for c, (name, probe) in enumerate(zip(self.class_names, self.probe))}
        worst = worst_class(per_class, self.best_by)
        return {"worst_class": worst, **per_class[worst], "classes": per_class}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.state is not None and self.state.failure:
            return
        if self.warnings is not None:
            self.warnings.epoch(epoch + 1, logs)
        kimg = kimg_at(epoch + 1, self.images_per_epoch)
        if kimg + 1e-9 < self.next_due:
            return
        self.next_due = self._due_after(kimg)
        t0 = time.perf_counter()
        if self.probe is None:
            self.probe = self.probe_factory()
        row = {"epoch": epoch + 1, "kimg": round(kimg, 3)}
        row.update(self._measure())
        for k in ("d_acc_real", "d_acc_fake", "d_margin"):
            if k in logs:
                row[k] = round(float(logs[k]), 4)
        score = snapshot_score(row, self.best_by)
        row["best"] = score is not None and (self.best_score is None or score > self.best_score)
        if row["best"]:
            self.best_score = score
            self._save_best(row)
        row["eval_seconds"] = round(time.perf_counter() - t0, 2)
        self.seconds += row["eval_seconds"]
        row["run_minutes"] = self._run_minutes(epoch + 1, row["eval_seconds"])
        append_jsonl(self.metrics_path, row)
        self.rows.append(row)
        if self.warnings is not None:
            self.warnings.quality(row)
        reason = early_stop_reason(self.rows, self.patience, self.best_by)
        if reason and self.state is not None:
            self.state.stopped = reason
            self.model.stop_training = True
            print(f"early stop after epoch {epoch + 1}: {reason}; sample it with `synthesize --checkpoint best`",
                  file=sys.stderr, flush=True)
        if self.writer is not None:
            import tensorflow as tf

            with self.writer.as_default(step=epoch + 1):
                for k, v in row.items():
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("epoch",):
                        tf.summary.scalar(f"quality/{k}", v)
                for name, r in row.get("classes", {}).items():
                    for k, v in r.items():
                        if isinstance(v, (int, float)) and not isinstance(v, bool):
                            tf.summary.scalar(f"quality/{name}/{k}", v)
            self.writer.flush()

    def _save_best(self, row: dict) -> None:
        from mri_gan.gans.checkpoint import save_generators

        save_generators(self.gan, self.best_dir)
        atomic_write_text(self.best_dir / "best.json", json.dumps(row, indent=2) + "\n")
