"""`mrigan-tf export`: a run's generator as SavedModel (two endpoints) and .keras."""

from __future__ import annotations

import click

from cli.common import config_options


@click.command()
@click.argument("run", metavar="RUN")
@click.option("--out", "out", required=True, metavar="DIR", help="Output dir (generator.keras, saved_model/, export.json).")
@click.option("--checkpoint", default=None, metavar="PATH", help="synth.checkpoint: auto (default: the best snapshot when RUN has one, else the newest), "
              "best, last, or a checkpoint prefix of RUN.")
@click.option("--overwrite", is_flag=True, help="Allow writing into a non-empty DIR.")
@click.option("--no-saved-model", "no_saved_model", is_flag=True,
              help="Write generator.keras only (no TensorFlow needed, e.g. on KERAS_BACKEND=jax without it).")
@config_options
def export(run, out, checkpoint, overwrite, no_saved_model, config_path, overrides, dry_run):
    """Export RUN's generator (EMA copy if enabled): DIR/generator.keras and DIR/saved_model with
    endpoints serve(z) -> float32 [-1, 1] and serve_uint8(z) -> uint8 [0, 255]."""
    from cli.common import dry_run_exit, existing_dir, quiet_tensorflow, resolve_config
    from mri_gan.errors import MriGanError

    cfg = resolve_config(config_path, overrides, {"synth.checkpoint": checkpoint})
    if dry_run:
        dry_run_exit(cfg)
    src = existing_dir(run, "run dir")
    if (src / "export.json").is_file():  # answered before TensorFlow loads, as `export_run` would
        raise MriGanError(f"{run} is already an exported model; export takes a run dir")
    if not (src / "run.json").is_file():
        raise MriGanError(f"{run} is neither a GAN run (no run.json) nor an exported model (no export.json)")
    quiet_tensorflow()
    from mri_gan.gans.export import export_run

    r = export_run(run, out, cfg.synth.checkpoint, overwrite, saved_model=not no_saved_model)
    also = f" and {r['saved_model']}" if r["saved_model"] else ""
    click.echo(f"exported {r['checkpoint']} -> {r['keras']}{also} "
               f"(reload max |diff| {r['roundtrip_max_abs_diff']:.2g})")
