"""`mrigan-tf study` and `mrigan-tf demo`."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import config_options

REPO = Path(__file__).resolve().parent.parent


def _log(msg: str) -> None:
    click.echo(f"[study] {msg}", err=True)


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--data", "data_root", required=True, type=click.Path(), help="Raw data: ROOT/Training|Testing/<class>/ or ROOT/<class>/.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Study directory (re-run to resume).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def study(config, data_root, out, overrides, dry_run):
    """Run the whole study of CONFIG: audit, prepare, fit, synthesize, evaluate, classify,
    compare and report. Resumable: finished stages and units are skipped."""
    from cli.common import dry_run_exit, existing_dir, quiet_tensorflow, resolve_gan_config

    cfg, _ = resolve_gan_config(config, overrides, None)
    if dry_run:
        dry_run_exit(cfg)
    existing_dir(data_root, "data root")
    quiet_tensorflow()
    from mri_gan.experiments.study import run_study

    run_study(cfg, data_root, out, log=_log)
    click.echo(f"report: {Path(out) / 'report.html'}  (and report.md, tables/)")


@click.command()
@click.option("--out", default="demo-study", show_default=True, type=click.Path(file_okay=False), help="Study directory.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def demo(out, overrides, dry_run):
    """Run configs/quick.yaml on the bundled sample (assets/sample): a few minutes on a laptop CPU."""
    from cli.common import dry_run_exit, quiet_tensorflow, resolve_gan_config
    from mri_gan.errors import MriGanError

    config, data = REPO / "configs" / "quick.yaml", REPO / "assets" / "sample"
    if not config.is_file() or not data.is_dir():
        raise MriGanError(f"demo needs {config} and {data}: run it from a source checkout (pip install -e .)")
    cfg, _ = resolve_gan_config(config, overrides, None)
    if dry_run:
        dry_run_exit(cfg)
    quiet_tensorflow()
    from mri_gan.experiments.study import run_study

    run_study(cfg, data, out, log=_log)
    click.echo(f"report: {Path(out) / 'report.html'}  (and report.md, tables/)")
