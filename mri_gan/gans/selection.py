"""Choosing which synthetic images to keep: draw k x n candidates, keep n by one rule.

Rules (`synth.select`):
- `none`: the first n draws, as plain `synthesize`.
- `discriminator`: discriminator rejection in its top-n form (Azadi et al. 2019, "Discriminator
  Rejection Sampling", without its acceptance-probability correction): keep the n candidates the
  run's discriminator scores most real. The score is D's logit in inference mode; a conditional
  run's projection D scores each class's candidates under that class's label.
- `realism`: feature-space filtering. A candidate is kept when it falls inside at least one real
  image's k-NN ball in the evaluation feature space (the improved-precision test of Kynkäänniemi
  et al. 2019 applied per image) and is not a copy (its SSIM to the nearest training image is not
  above the calibrated copy threshold of `metrics/memorization.py`); the first n kept, in draw order.
- `confidence`: class-confidence filtering. A candidate is kept when the feature classifier
  (the Table II CNN trained on the real training images of the prepared dir, as `evaluate` uses
  it) gives its own class a probability >= `synth.select_threshold`; the first n kept, in draw order.
Every rule also drops copies (SSIM above the copy threshold) when the reals are given.

The pure parts (`top_n`, `inside_knn_balls`, `first_n_kept`) work on scores and features and are
what the tests pin; `Selector` wires them to a run's models. Fewer than n candidates passing a
filter is not an error: the kept count is what the manifest records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError

RULES = ("none", "discriminator", "realism", "confidence")


def top_n(scores, n: int) -> np.ndarray:
    """Indices of the `n` highest scores, highest first (ties: the earlier draw first)."""
    scores = np.asarray(scores, np.float64)
    order = np.argsort(-scores, kind="stable")
    return order[: int(n)]


def first_n_kept(keep, n: int) -> np.ndarray:
    """Indices of the first `n` True entries of the mask `keep` (draw order)."""
    return np.flatnonzero(np.asarray(keep, bool))[: int(n)]


def inside_knn_balls(real_act, fake_act, k: int) -> np.ndarray:
    """Mask over the fakes: inside the ball of some real image, whose radius is the distance to
    that real image's k-th nearest other real image."""
    from mri_gan.metrics.distribution import knn_radii, pairwise_distances

    real = np.asarray(real_act, np.float64)
    fake = np.asarray(fake_act, np.float64)
    radii = knn_radii(real, k)
    return (pairwise_distances(real, fake) <= radii[:, None]).any(0)


def not_copies(fake_uint8, real_uint8, eval_cfg) -> tuple[np.ndarray, float]:
    """(mask of fakes that are not copies of a real image, the SSIM threshold used)."""
    from mri_gan.metrics.memorization import calibrate_pixel_threshold
    from mri_gan.metrics.pixel import nearest_real

    thr, _ = calibrate_pixel_threshold(real_uint8, eval_cfg, show_progress=False)
    _, ssim = nearest_real(fake_uint8, real_uint8, eval_cfg.shortlist_k, eval_cfg.shortlist_size,
                           show_progress=False, normalize=eval_cfg.shortlist_normalize)
    return ssim <= thr, float(thr)


def check_rule(rule: str, oversample: int, threshold: float) -> None:
    if rule not in RULES:
        raise MriGanError(f"synth.select must be one of {', '.join(RULES)}, got {rule!r}")
    if oversample < 1:
        raise MriGanError(f"synth.oversample must be >= 1, got {oversample}")
    if rule != "none" and oversample < 2:
        raise MriGanError(f"synth.select {rule} needs synth.oversample >= 2 candidates per kept image")
    if not 0.0 <= threshold <= 1.0:
        raise MriGanError(f"synth.select_threshold must be in [0, 1], got {threshold}")


def discriminator_scorer(run) -> tuple[object, str]:
    """(callable uint8 (N, H, W) [, label] -> logits, the checkpoint it was read from). The newest
    full checkpoint of the run (the best snapshot holds generators only). A conditional run's
    scorer needs the label (index into run.json's class_names) the candidates are scored as."""
    from keras import ops

    from mri_gan.config import load_saved
    from mri_gan.gans.checkpoint import latest_checkpoint
    from mri_gan.gans.intact import restore_part
    from mri_gan.gans.factory import build_models
    from mri_gan.utils import read_json

    run = Path(run)
    info = read_json(run / "run.json")
    num_classes = len(info.get("class_names", [])) if info.get("conditional") else 0
    cfg = load_saved(run / "config.yaml")
    prefix = latest_checkpoint(run)
    if not prefix:
        raise MriGanError(f"synth.select discriminator: no full checkpoint in {run / 'checkpoints'}")
    _, disc = build_models(cfg.gan, int(info["size"]), num_classes)
    restore_part(disc, prefix, "discriminator", "discriminator")

    def score(images_uint8: np.ndarray, label: int | None = None, batch: int = 128) -> np.ndarray:
        if num_classes and label is None:
            raise MriGanError("synth.select discriminator: a conditional run scores candidates as one class; give its label")
        out = []
        for s in range(0, len(images_uint8), batch):
            x = images_uint8[s:s + batch, ..., None].astype(np.float32) / 127.5 - 1.0
            inputs = ops.convert_to_tensor(x)
            if num_classes:
                inputs = [inputs, ops.convert_to_tensor(np.full((len(x), 1), label, np.int32))]
            y = disc(inputs, training=False)
            y = y[0] if isinstance(y, (list, tuple)) else y
            out.append(np.asarray(ops.convert_to_numpy(y), np.float64).reshape(len(x), -1)[:, 0])
        return np.concatenate(out) if out else np.zeros(0)

    return score, prefix


def feature_classifier(prep, eval_cfg, clf_cfg):
    """(features callable, probabilities callable, class names) of the cached feature classifier."""
    import keras

    from mri_gan.data.pipeline import read_prepared_info
    from mri_gan.metrics.features import FeatureExtractor, classifier_extractor

    ext = classifier_extractor(prep, eval_cfg, clf_cfg, show_progress=False)
    full = keras.models.load_model(ext.path, compile=False)
    probs = FeatureExtractor(full, "probabilities", eval_cfg.feature_batch)
    return ext, probs, sorted(read_prepared_info(prep)["classes"])


def _label(run, class_name: str) -> int | None:
    """The label of `class_name` in a conditional run (None for a run of one class)."""
    from mri_gan.utils import read_json

    info = read_json(Path(run) / "run.json")
    if not info.get("conditional"):
        return None
    names = list(info.get("class_names", []))
    if class_name not in names:
        raise MriGanError(f"synth.select discriminator: class {class_name!r} is not a class of {run} ({', '.join(names)})")
    return names.index(class_name)


def select(rule: str, candidates: np.ndarray, n: int, *, class_name: str = "", run=None, prep=None,
           real_uint8=None, cfg=None) -> tuple[np.ndarray, dict]:
    """(indices into `candidates` of the kept images, a record of what was done)."""
    ec = cfg.eval
    record = {"rule": rule, "drawn": int(len(candidates)), "threshold": None}
    keep = np.ones(len(candidates), bool)
    if real_uint8 is not None and rule != "none":
        nc, thr = not_copies(candidates, real_uint8, ec)
        keep &= nc
        record.update({"copy_threshold_ssim": thr, "copies_dropped": int((~nc).sum())})
    if rule == "none":
        idx = np.arange(min(n, len(candidates)))
    elif rule == "discriminator":
        score, prefix = discriminator_scorer(run)
        s = score(candidates, _label(run, class_name))
        s[~keep] = -np.inf
        idx = top_n(s, min(n, int(keep.sum())))
        record.update({"discriminator_checkpoint": prefix,
                       "score_kept_min": float(s[idx].min()) if len(idx) else None,
                       "score_median_drawn": float(np.median(s[np.isfinite(s)])) if keep.any() else None})
    elif rule == "realism":
        ext, _, _ = feature_classifier(prep, ec, cfg.classifier)
        inside = inside_knn_balls(ext(real_uint8), ext(candidates), min(ec.pr_k, len(real_uint8) - 1))
        record["outside_real_manifold"] = int((~inside).sum())
        keep &= inside
        idx = first_n_kept(keep, n)
        record["k"] = int(min(ec.pr_k, len(real_uint8) - 1))
    elif rule == "confidence":
        _, probs, names = feature_classifier(prep, ec, cfg.classifier)
        if class_name not in names:
            raise MriGanError(f"synth.select confidence: class {class_name!r} is not a class of {prep}")
        p = probs(candidates)[:, names.index(class_name)]
        record["threshold"] = float(cfg.synth.select_threshold)
        record["below_threshold"] = int((p < cfg.synth.select_threshold).sum())
        keep &= p >= cfg.synth.select_threshold
        idx = first_n_kept(keep, n)
    else:
        raise MriGanError(f"synth.select must be one of {', '.join(RULES)}, got {rule!r}")
    record["kept"] = int(len(idx))
    return np.asarray(idx, np.int64), record
