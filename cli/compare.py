"""`mrigan-tf compare`: the baselines table (paper Table VI)."""

from __future__ import annotations

import click

from cli.common import config_options


def _names(text):
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@click.command()
@click.option("--data", "prep", required=True, type=click.Path(), help="Prepared dir (output of `prepare`).")
@click.option("--classes", default=None, help="Comma-separated classes, e.g. glioma,meningioma,pituitary [compare.classes].")
@click.option("--kinds", default=None, help="Comma-separated GAN kinds: proposed,dcgan,wgan_gp,lsgan,infogan [compare.kinds].")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output dir (re-run to resume).")
@click.option("--size", type=int, default=None, help="Image size in px [the prepared dir's size].")
@click.option("--epochs", type=int, default=None, help="Training epochs of every cell (train.epochs; turns train.kimg off).")
@click.option("--kimg", type=float, default=None,
              help="Run length of every cell in thousands of real images shown (train.kimg; replaces --epochs).")
@click.option("--n", "n", type=int, default=None, help="Images synthesized and evaluated per cell [compare.n].")
@config_options
def compare(prep, classes, kinds, out, size, epochs, kimg, n, config_path, overrides, dry_run):
    """Train each GAN kind on each class with the same budget, synthesize the same number of
    images, evaluate them, and write OUT/table6.{md,csv,json} and OUT/samples.png.
    Resumable: finished cells are not retrained."""
    from pathlib import Path

    from cli.common import dry_run_exit, existing_dir, quiet_tensorflow, resolve_gan_config

    if size is None and (Path(prep) / "prepare.json").is_file():
        import json

        size = int(json.loads((Path(prep) / "prepare.json").read_text())["size"])
    cfg, _ = resolve_gan_config(config_path, overrides, {
        "compare.classes": _names(classes), "compare.kinds": _names(kinds), "data.size": size, "compare.n": n},
        epochs, kimg)
    if dry_run:
        dry_run_exit(cfg)
    existing_dir(prep, "prepared dir")
    from mri_gan.experiments.compare import check_request, run_compare

    check_request(Path(prep), cfg)  # kinds, classes and size, before TensorFlow loads
    quiet_tensorflow()

    result = run_compare(prep, out, cfg)
    click.echo((Path(out) / "table6.md").read_text(encoding="utf-8"), nl=False)
    click.echo(f"trained {len(result['trained'])} cell(s), reused {len(result['skipped'])}; "
               f"tables: {Path(out) / 'table6.md'} (.csv, .json), figure: {Path(out) / 'samples.png'}")
