"""`mrigan-tf audit ROOT [--json FILE]`."""

from __future__ import annotations

import click

from cli.common import config_options


@click.command()
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write the full report (every duplicate, leak and unreadable file) to this JSON file.")
@click.option("--workers", type=int, default=None, help="Processes (default: data.workers; 0 = all cores).")
@config_options
def audit(root, json_path, workers, config_path, overrides, dry_run):
    """Audit the images under ROOT (ROOT/Training|Testing/<class>/ or ROOT/<class>/).

    Reports per split and class: files, decoded, unreadable (with the reason), modes, sizes;
    exact duplicates (same bytes), near duplicates (256-bit pHash of the margin-cropped image
    within data.near_threshold) and leaks: test files that duplicate a training file.
    """
    from cli.common import dry_run_exit, existing_dir, resolve_config

    cfg = resolve_config(config_path, overrides, {"data.workers": workers})
    if dry_run:
        dry_run_exit(cfg)
    existing_dir(root, "data directory")
    from mri_gan.data.audit import format_summary, run_audit
    from mri_gan.utils import write_json

    report = run_audit(root, cfg.data)
    click.echo(format_summary(report))
    if json_path:
        write_json(json_path, report)
        click.echo(f"report written to {json_path}")
