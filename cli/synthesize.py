"""`mrigan-tf synthesize`: write N seeded synthetic PNGs from a run or an exported model."""

from __future__ import annotations

import click

from cli.common import config_options


@click.command()
@click.argument("run", metavar="RUN")
@click.option("--n", "n", type=int, default=None, help="Images per class (synth.n).")
@click.option("--out", "out", required=True, metavar="DIR", help="Output dir: DIR/<class>/*.png + manifest.csv.")
@click.option("--seed", type=int, default=None, help="Latent seed (synth.seed); same seed => identical files.")
@click.option("--batch-size", type=int, default=None, help="Generator batch (synth.batch_size).")
@click.option("--classes", "--class", "class_name", default=None, metavar="NAMES",
              help="Conditional model: the classes to draw, comma-separated (default: every class, N each).")
@click.option("--checkpoint", default=None, metavar="PATH", help="synth.checkpoint: auto (default: the best snapshot when RUN has one, else the newest), "
              "best, last (the newest), or a checkpoint prefix of RUN.")
@click.option("--select", "select", default=None, metavar="RULE",
              help="Keep n of oversample x n draws (synth.select): none | discriminator | realism | confidence.")
@click.option("--oversample", type=int, default=None, metavar="K", help="Candidates per kept image (synth.oversample).")
@click.option("--overwrite", is_flag=True, help="Allow writing into a non-empty DIR.")
@config_options
def synthesize(run, n, out, seed, batch_size, class_name, checkpoint, select, oversample, overwrite,
               config_path, overrides, dry_run):
    """Write N synthetic PNGs (marked synthetic in a PNG text chunk) and DIR/manifest.csv.

    RUN is a `fit` run dir (its best snapshot when it has one, else the newest checkpoint; the EMA
    generator if enabled) or an `export` dir.
    """
    from cli.common import dry_run_exit, existing_dir, quiet_tensorflow, resolve_config

    cfg = resolve_config(config_path, overrides, {"synth.n": n, "synth.seed": seed, "synth.batch_size": batch_size,
                                                      "synth.checkpoint": checkpoint,
                                                      "synth.select": select, "synth.oversample": oversample})
    if dry_run:
        dry_run_exit(cfg)
    _check_source(existing_dir(run, "run or export dir"), class_name)
    quiet_tensorflow()
    from mri_gan.gans.selection import check_rule
    from mri_gan.gans.synthesis import Selection, synthesize as run_synthesize

    s = cfg.synth
    sel = Selection(s.select, s.oversample if s.select != "none" else 1, s.select_threshold)
    check_rule(sel.rule, sel.oversample, sel.threshold)  # before the model loads
    r = run_synthesize(run, out, s.n, seed=s.seed, batch_size=s.batch_size, class_name=class_name,
                       checkpoint=s.checkpoint, overwrite=overwrite, selection=sel)
    click.echo(f"{r['files']} images ({', '.join(r['classes'])}) -> {r['out']} from {r['checkpoint']}")
    for cls, rec in (r.get("selection") or {}).items():
        click.echo(f"  {cls}: select {rec['rule']} kept {rec['kept']} of {rec['drawn']} draws")


def _check_source(src, class_name) -> None:
    """The one-line errors of `synthesize` for a dir that holds no model and for an unknown
    --classes, read from run.json / export.json before Keras and TensorFlow load."""
    from mri_gan.errors import MriGanError
    from mri_gan.gans.synthesis import check_classes, wanted_classes
    from mri_gan.utils import read_json

    meta_path = src / "export.json" if (src / "export.json").is_file() else src / "run.json"
    if not meta_path.is_file():
        raise MriGanError(f"{src} is neither a GAN run (no run.json) nor an exported model (no export.json)")
    meta = read_json(meta_path)
    check_classes(wanted_classes(class_name), bool(meta.get("conditional")), list(meta.get("class_names", [])),
                  meta.get("class"))
