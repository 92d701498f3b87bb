"""`mrigan-tf fit`: train a GAN on one class of a prepared dir (or continue a run)."""

from __future__ import annotations

import click

from cli.common import config_options
from mri_gan.precision import CHOICES as PRECISIONS


@click.command()
@click.option("--data", "data", default=None, metavar="PREP", help="Prepared dir (from `mrigan-tf prepare`).")
@click.option("--class", "class_name", default=None, metavar="NAME",
              help="Class to learn: a class name, `tumor` (all but notumor) or `all`; a conditional GAN uses all.")
@click.option("--out", "out", default=None, metavar="RUN", help="Run directory (re-running into it continues it).")
@click.option("--size", type=int, default=None, help="Image size; must equal the prepared size.")
@click.option("--epochs", type=int, default=None, help="Total epochs (train.epochs; turns train.kimg off).")
@click.option("--kimg", type=float, default=None,
              help="Run length in thousands of real images shown (train.kimg; replaces --epochs).")
@click.option("--resume", "resume", is_flag=False, flag_value="__out__", default=None, metavar="[RUN]",
              help="Continue RUN (or --out) from its newest checkpoint with its saved config.")
@click.option("--strategy", type=click.Choice(["auto", "default", "mirrored", "multiworker"]), default=None,
              help="Distribution (train.strategy): tf.distribute on TensorFlow (auto = mirrored on GPUs, default on CPU); "
                   "keras.distribution.DataParallel on JAX (auto = over all devices when there are several).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None,
              help="Compute precision (train.precision); auto picks by machine (see classify --help).")
@config_options
def fit(data, class_name, out, size, epochs, kimg, resume, strategy, precision, config_path, overrides, dry_run):
    """Train a GAN on one class (or all, conditional) of a prepared dir.

    Writes RUN/config.yaml, run.json, history.jsonl, metrics.jsonl (quality every
    train.eval_every kimg), samples/, checkpoints/ (best/ = the best measurement, train.best_by), tensorboard/
    (view with `tensorboard --logdir RUN/tensorboard`). Ctrl-C saves a checkpoint.
    """
    from cli.common import dry_run_exit, quiet_tensorflow, resolve_gan_config
    from mri_gan.errors import MriGanError

    cfg, (epochs, kimg) = resolve_gan_config(config_path, overrides, {"train.strategy": strategy,
                                                                      "train.precision": precision}, epochs, kimg)
    if resume not in (None, "__out__"):
        if out and out != resume:
            raise MriGanError(f"--resume {resume} and --out {out} name different runs")
        out = resume
    if dry_run:
        from mri_gan.gans.fit import planned_config

        dry_run_exit(planned_config(out, cfg, resume is not None, epochs, kimg, data, size))
    if not out:
        raise MriGanError("--out RUN is required")
    _check_input(data, class_name, out, cfg, resume is not None)
    quiet_tensorflow()
    from mri_gan.gans.fit import run_fit

    result = run_fit(data, class_name, out, cfg, resume=resume is not None, size=size, epochs=epochs, kimg=kimg)
    last = result.get("last") or {}
    click.echo(f"{result['run']}: {result['kind']} on {result['class']} ({result['images']} images), "
               f"epochs {result['start_epoch']}->{result['epochs']} in {result.get('seconds', 0):.1f} s; "
               f"d_loss {last.get('d_loss', float('nan')):.4f} g_loss {last.get('g_loss', float('nan')):.4f}; "
               f"checkpoint {result['checkpoint']}")
    if result.get("stopped_early"):
        click.echo(f"stopped early (train.patience): {result['stopped_early']}; "
                   f"`mrigan-tf synthesize {result['run']} --checkpoint best --out DIR` samples the best snapshot")


def _check_input(data, class_name, out, cfg, resume: bool) -> None:
    """The one-line errors of `run_fit` for a wrong path or class, given before Keras and
    TensorFlow load (seconds): --out not a directory, PREP not a prepared dir, an unknown class,
    nothing to resume. A continued run's other checks stay with `run_fit`."""
    from pathlib import Path

    from mri_gan.data.pipeline import read_prepared_info
    from mri_gan.errors import MriGanError
    from mri_gan.gans.fit import select_classes

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MriGanError(f"--out {out} exists and is not a directory")
    info = read_prepared_info(data) if data else None
    if (out / "run.json").is_file():
        return
    if resume:
        raise MriGanError(f"nothing to resume: {out} is not a GAN run (no run.json)")
    if info is not None:
        select_classes(sorted(info["classes"]), class_name, cfg.gan.conditional)
