"""Classify image files with a trained classifier, preprocessing each exactly as `prepare` did.

The model's `model.json` (written beside it by `classify` or `export`) records the image size,
the class names and the data settings of the prepared dir it was trained on; every file goes
through `mri_gan.data.preprocess.preprocess_file` with those settings. A file that cannot be read
gives a one-line error and the others go on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.utils import read_json


def load_classifier(model_path):
    """(keras model, info dict) from a .keras file or a run dir holding best.keras + model.json."""
    import keras

    p = Path(model_path)
    if p.is_dir():
        p = p / "best.keras"
    if not p.is_file():
        raise MriGanError(f"model not found: {p}")
    if p.suffix != ".keras":
        raise MriGanError(f"expected a .keras model file, got {p}")
    info_path = p.parent / "model.json"
    if not info_path.is_file():
        raise MriGanError(f"{info_path} not found: it records the size, classes and preprocessing of {p.name}")
    info = read_json(info_path)
    try:
        model = keras.saving.load_model(p, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001 - a broken file is bad input, one line
        raise MriGanError(f"cannot load model {p}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    want = (None, info["size"], info["size"], 1)
    if tuple(model.input_shape) != want:
        raise MriGanError(f"{p} takes inputs {model.input_shape}, but model.json says size {info['size']}")
    return model, info


def _data_config(info: dict):
    from mri_gan.config import DataConfig, from_dict

    return from_dict({"data": info.get("data", {})}).data if info.get("data") else DataConfig(size=info["size"])


def predict_files(model_path, files, explain_dir=None) -> tuple[list[dict], list[dict]]:
    """(predictions, errors): one dict per readable file with class + probabilities; one per bad file.

    `explain_dir`: also write a Grad-CAM picture of the predicted class per file there
    (mri_gan.classifier.gradcam; the prediction's "explanation" is its path)."""
    from mri_gan.data.pipeline import from_uint8
    from mri_gan.data.preprocess import preprocess_file

    model, info = load_classifier(model_path)
    data_cfg = _data_config(info)
    size, classes = int(info["size"]), list(info["classes"])
    images, ok, errors = [], [], []
    for f in files:
        try:
            if not Path(f).is_file():
                raise MriGanError("no such file")
            images.append(preprocess_file(f, size, data_cfg))
            ok.append(str(f))
        except MriGanError as e:
            errors.append({"file": str(f), "error": getattr(e, "reason", None) or str(e).splitlines()[0]})
        except Exception as e:  # noqa: BLE001 - any decoder failure: report and go on
            errors.append({"file": str(f), "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})
    preds = []
    if images:
        x = from_uint8(np.stack(images))[..., None]
        probs = np.asarray(model.predict(x, batch_size=32, verbose=0), np.float64)
        for f, p in zip(ok, probs):
            preds.append({"file": f, "class": classes[int(p.argmax())],
                          "probabilities": {c: float(v) for c, v in zip(classes, p)}})
        if explain_dir is not None:
            from mri_gan.classifier.gradcam import write_explanations

            for pred, path in zip(preds, write_explanations(model, np.stack(images), ok, explain_dir, classes, probs)):
                pred["explanation"] = str(path)
    return preds, errors
