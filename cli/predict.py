"""`mrigan-tf predict`: classify image files with a trained classifier."""

from __future__ import annotations

import click


@click.command()
@click.argument("model", type=click.Path())
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (predictions and errors).")
@click.option("--explain", "explain_dir", type=click.Path(file_okay=False), default=None,
              help="Write a Grad-CAM heat map of the predicted class over each image into this folder (<name>_gradcam.png).")
def predict(model, images, as_json, explain_dir):
    """Classify IMAGES (JPEG/PNG/DICOM...) with MODEL (a .keras file from `classify`, or its run dir).

    Each file is preprocessed exactly as `prepare` did for the model's training data (settings read
    from model.json beside the model). Unreadable files get a one-line error each; the others are
    still classified; the exit code is 1 if any file failed. With --explain DIR, DIR/<name>_gradcam.png
    shows each preprocessed slice beside a Grad-CAM heat map (Selvaraju et al. 2017) of the predicted
    class from the last conv layer."""
    import json
    import sys

    from pathlib import Path

    from cli.common import quiet_tensorflow
    from mri_gan.errors import MriGanError

    path = Path(model) / "best.keras" if Path(model).is_dir() else Path(model)
    if not path.is_file():  # answered before TensorFlow loads
        raise MriGanError(f"model not found: {path}")
    quiet_tensorflow()
    from mri_gan.classifier.predict import predict_files

    preds, errors = predict_files(model, images, explain_dir=explain_dir)
    if as_json:
        click.echo(json.dumps({"predictions": preds, "errors": errors}, indent=2))
    else:
        for p in preds:
            probs = "  ".join(f"{c}={v:.3f}" for c, v in p["probabilities"].items())
            where = f"  -> {p['explanation']}" if "explanation" in p else ""
            click.echo(f"{p['file']}: {p['class']}  ({probs}){where}")
    for e in errors:
        click.echo(f"error: {e['file']}: {e['error']}", err=True)
    if errors:
        sys.exit(1)
