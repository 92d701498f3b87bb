"""`mrigan-tf prepare ROOT --out DIR --size N`."""

from __future__ import annotations

import click

from cli.common import config_options


@click.command()
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output directory (PREP).")
@click.option("--size", type=int, default=None, help="Output side in px (default: data.size).")
@click.option("--split", type=click.Choice(["shipped", "dedup", "grouped"]), default=None,
              help="shipped: the dataset's split as is; dedup (default): drop leaked test images and "
                   "in-split copies; grouped: pool, group near slices, split whole groups 80/20.")
@click.option("--keep-leaks", is_flag=True, default=None,
              help="Keep test images that duplicate a training image (data.drop_leaks=false).")
@click.option("--keep-duplicates", is_flag=True, default=None,
              help="Keep every copy of duplicates inside a split (data.dedup_within=false).")
@click.option("--workers", type=int, default=None, help="Processes (default: data.workers; 0 = all cores).")
@click.option("--force", is_flag=True, help="Redo everything even if OUT is up to date.")
@config_options
def prepare(root, out, size, split, keep_leaks, keep_duplicates, workers, force, config_path, overrides, dry_run):
    """Crop the black margin, pad to square, resize to N x N gray, split into OUT/train|test/<class>/*.png.

    Writes OUT/prepare.json (counts in/out, what was dropped and why, groups for --split grouped)
    and OUT/config.yaml. Re-running with the same input and options does nothing.
    """
    from cli.common import dry_run_exit, existing_dir, resolve_config

    cfg = resolve_config(config_path, overrides, {
        "data.size": size, "data.split": split, "data.workers": workers,
        "data.drop_leaks": False if keep_leaks else None,
        "data.dedup_within": False if keep_duplicates else None})
    if dry_run:
        dry_run_exit(cfg)
    existing_dir(root, "data directory")
    from mri_gan.data.prepare import format_summary, run_prepare

    info = run_prepare(root, out, cfg, force=force)
    click.echo(format_summary(info))
    click.echo(f"written to {out}")
