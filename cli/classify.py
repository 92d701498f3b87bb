"""`mrigan-tf classify`: train the classifier (Table II, or `-s classifier.preset=strong`) on real (+ synthetic) images over seeds."""

from __future__ import annotations

import click

from cli.common import config_options
from mri_gan.precision import CHOICES as PRECISIONS


@click.command()
@click.option("--data", "data", required=True, type=click.Path(), help="Prepared dir (from `mrigan-tf prepare`).")
@click.option("--synthetic", "synthetic", multiple=True, type=click.Path(),
              help="Synthetic images added to training: a synthesize output or DIR/<class>/ tree (repeatable).")
@click.option("--out", "out", required=True, type=click.Path(), help="Run directory to create.")
@click.option("--epochs", default=None, help="Score the test split after these epochs, e.g. 5,10,30.")
@click.option("--seeds", type=int, default=None, help="Number of seeds (0..N-1), one training run each.")
@click.option("--compare-real", is_flag=True, help="Also train real-only with the same seeds; report the paired difference.")
@click.option("--synthetic-only", is_flag=True, help="TSTR: train on the synthetic images only, test on real.")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None,
              help="Compute precision; auto = mixed_bfloat16 on a CPU with bf16 instructions or a GPU >= sm_80, else float32.")
@click.option("--export", "export_dir", type=click.Path(), default=None, help="Also export the best model as SavedModel here.")
@click.option("--resume", is_flag=True,
              help="Keep the seeds an earlier run in --out finished (same data and settings) and train the rest.")
@click.option("--overwrite", is_flag=True, help="Replace the contents of a non-empty --out (with --resume: only if it cannot be resumed).")
@config_options
def classify(data, synthetic, out, epochs, seeds, compare_real, synthetic_only, precision, export_dir, resume, overwrite,
             config_path, overrides, dry_run):
    """Train the paper's Table II CNN (or the strong recipe: -c configs/classifier-strong.yaml) on the
    real training split (plus synthetic images), validate on a held-out real part, and score the real
    test split after each listed epoch and at the best-validation epoch, over several seeds.
    Writes config.yaml, results.json (per seed/epoch and mean ± 95 % CI: accuracy, F1, sensitivity,
    specificity, balanced accuracy, ROC AUC, ECE), history.jsonl, best.keras, model.json,
    test_predictions.npz, confusion.png, roc.png, reliability.png, curves.png and tensorboard/ into --out."""
    from cli.common import dry_run_exit, existing_dir, quiet_tensorflow, resolve_config
    from mri_gan.data.pipeline import read_prepared_info

    cfg = resolve_config(config_path, overrides, {
        "classifier.epochs": epochs, "classifier.seeds": seeds, "classifier.precision": precision,
        "classifier.compare_real": True if compare_real else None,
        "classifier.synthetic_only": True if synthetic_only else None,
    })
    if dry_run:
        dry_run_exit(cfg)
    read_prepared_info(data)  # a wrong path answers before TensorFlow loads
    for s in synthetic:
        existing_dir(s, "--synthetic directory")
    quiet_tensorflow()
    from mri_gan.classifier.stats import ECE_BINS, format_interval, format_summary
    from mri_gan.classifier.train import run_classify

    res = run_classify(data, out, cfg, synthetic_dirs=synthetic, export_dir=export_dir, overwrite=overwrite,
                       resume=resume)
    kept = f" ({res['seeds_resumed']} kept from the earlier run)" if res["seeds_resumed"] else ""
    click.echo(f"{res['mode']} on {data} ({res['size']} px), seeds {res['seeds']}{kept}, {res['wall_seconds']:.0f} s")
    click.echo(f"test accuracy (mean ± 95% CI half-width): {format_summary(res['summary'])}")
    click.echo(f"test macro F1: {format_summary(res['summary'], 'f1_macro')}")
    click.echo(f"test balanced accuracy: {format_summary(res['summary'], 'balanced_accuracy')}")
    click.echo(f"test macro one-vs-rest ROC AUC: {format_summary(res['summary'], 'auc_macro')}")
    click.echo(f"test ECE ({ECE_BINS} bins, points): {format_summary(res['summary'], 'ece')}")
    bv = res["best_val"]
    if bv["runs"] and "accuracy" in bv["summary"]:
        at = ", ".join(f"seed {r['seed']} epoch {r['epoch']}" for r in bv["runs"])
        click.echo(f"best-validation checkpoints ({at}): test accuracy {format_interval(bv['summary']['accuracy'])}, "
                   f"balanced {format_interval(bv['summary']['balanced_accuracy'])}")
    if "paired_difference" in res:
        click.echo(f"baseline real-only accuracy: {format_summary(res['baseline']['summary'])}")
        click.echo(f"paired difference ({res['mode']} - real), accuracy points: "
                   f"{format_summary(res['paired_difference'])}")
    click.echo(f"results: {out}/results.json; best model: {out}/best.keras")
