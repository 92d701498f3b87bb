"""`mrigan-tf evaluate`: PSNR/MSE/SSIM, FID/KID, precision/recall, diversity and a copy audit."""

from __future__ import annotations

import click

from cli.common import config_options


@click.command()
@click.option("--real", "real", required=True, type=click.Path(), help="Folder of real images (PNG/JPEG, searched recursively).")
@click.option("--fake", "fake", required=True, type=click.Path(), help="Folder of synthetic images (e.g. a synthesize output class folder).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Result JSON to write; <out>_copies.png and a metrics.jsonl line are written beside it.")
@click.option("--features", "features", default=None,
              help="Feature extractor for FID/KID/precision/recall: classifier | inception | PATH to a .keras model.")
@click.option("--train-real", "train_real", type=click.Path(), default=None,
              help="Training images for the memorization audit (default: --real).")
@click.option("--prep", "prep", type=click.Path(), default=None,
              help="Prepared dir the feature classifier is trained on (default: guessed from --real).")
@config_options
def evaluate(real, fake, out, features, train_real, prep, config_path, overrides, dry_run):
    """Evaluate synthetic images against real ones: PSNR/MSE/SSIM under the nearest and random
    pairings, FID and KID from features, improved precision/recall and density/coverage, mean
    pairwise MS-SSIM within each set, and the share of fakes that copy a training image. Prints a
    table; writes --out (JSON), <out>_copies.png and appends to metrics.jsonl beside it."""
    from pathlib import Path

    from cli.common import dry_run_exit, existing_dir, quiet_tensorflow, resolve_config
    from mri_gan.errors import MriGanError

    cfg = resolve_config(config_path, overrides, {"eval.features": features})
    if dry_run:
        dry_run_exit(cfg)
    existing_dir(real, "--real directory")
    existing_dir(fake, "--fake directory")
    if train_real is not None:
        existing_dir(train_real, "--train-real directory")
    if prep is not None:
        existing_dir(prep, "--prep directory")
    if not out.lower().endswith(".json") or Path(out).is_dir():  # as `evaluate_dirs` checks, before TensorFlow loads
        raise MriGanError(f"--out must be a .json file, got {out}")
    quiet_tensorflow()
    import time

    from mri_gan.metrics.evaluate import evaluate_dirs

    t0 = time.perf_counter()
    res = evaluate_dirs(real, fake, out, cfg, features=cfg.eval.features, train_real_dir=train_real, prep=prep)
    click.echo(res["table"])
    click.echo(f"wall time {time.perf_counter() - t0:.1f} s (metrics {res['wall_s']:.1f} s); results: {out}")
