"""Feature extractors for FID/KID, precision/recall and the feature-space copy audit.

An extractor maps uint8 images (N, H, W) to activations (N, D). Three kinds (`eval.features`):

- `classifier` (default, works offline): the penultimate layer ("features", Dense(256)+ReLU) of
  the Table II CNN (`mri_gan.models.classifier`) trained for `eval.feature_epochs` epochs on
  ALL classes of the real training split of a prepared dir, seeded (`eval.seed`). It is trained
  once and cached as `PREP/.cache/feature_classifier_<hash>.keras`, the hash covering the
  prepared dir's file list, the image size and the training settings. Numbers from these
  features are comparable only with numbers from the same cached model, never with anything
  published. Its activations are multiplied by a fixed factor (stored beside the model) that
  makes their mean square on the real training images 1, so KID's cubic kernel stays tame.
- `inception`: `keras.applications.InceptionV3(include_top=False, pooling="avg")` (2048-D)
  with ImageNet weights read from `eval.inception_weights` or the Keras cache
  (`$KERAS_HOME/models/` or `~/.keras/models/`). Never downloaded at run time: a missing file is
  a one-line error saying where to put it. Grayscale is repeated to 3 channels and resized to
  299 px (bilinear). Keras' weights are not the 2015 graph that pytorch-fid/clean-fid use, so
  the FID is close to but not directly comparable with published FIDs.
- a path to any `.keras` model: its layer named "features" if it has one, else its output.

All models get images scaled to [-1, 1] (the project's convention and Inception's
`preprocess_input`), resized to the model's input size when it differs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError

INCEPTION_NOTOP = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_SIZE = 299


class FeatureExtractor:
    """Callable uint8 (N, H, W) -> float64 activations (N, D), with a `name` for reports."""

    def __init__(self, model, name: str, batch_size: int = 64, scale: float = 1.0):
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.scale = float(scale)  # activations are multiplied by this (fixed per model)
        shape = model.inputs[0].shape  # (None, H, W, C)
        self.input_hw = (int(shape[1]), int(shape[2]))
        self.channels = int(shape[3])

    def _prepare(self, batch: np.ndarray):
        """uint8 (B, H, W) -> float32 (B, h, w, C) in [-1, 1] at the model's input size (bilinear,
        antialiased: `keras.ops.image.resize`, i.e. tf.image.resize on TensorFlow and its
        jax.image port on JAX) with the gray channel repeated C times, as a backend tensor (a NumPy
        array makes Keras warn about the input structure of the loaded models)."""
        from keras import ops

        x = ops.convert_to_tensor(batch[..., None].astype(np.float32) / 127.5 - 1.0)
        if tuple(x.shape[1:3]) != self.input_hw:
            x = ops.image.resize(x, self.input_hw, interpolation="bilinear", antialias=True,
                                 data_format="channels_last")
        if self.channels != 1:
            x = ops.repeat(x, self.channels, axis=-1)
        return x

    def __call__(self, images: np.ndarray, show_progress: bool = False) -> np.ndarray:
        from mri_gan.utils import progress

        images = np.asarray(images)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise MriGanError(f"feature extractor: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
        steps = range(0, len(images), self.batch_size)
        out = [np.asarray(self.model(self._prepare(images[s:s + self.batch_size]), training=False), np.float64)
               for s in progress(steps, total=len(steps), desc=f"features ({self.name})",
                                 disable=None if show_progress else True)]
        return np.concatenate(out).reshape(len(images), -1) * self.scale


def _cut_features(model):
    import keras

    try:
        layer = model.get_layer("features")
    except ValueError:
        return model
    return keras.Model(model.inputs, layer.output, name=f"{model.name}_features")


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def inception_extractor(weights: str | None = "", batch_size: int = 32) -> FeatureExtractor:
    """InceptionV3 pool features. `weights`: a file, "" (Keras cache) or None (random, tests only)."""
    import keras

    from mri_gan.backend import keep_tensorflow_out

    keep_tensorflow_out()
    if weights is not None:
        path = Path(weights) if weights else keras_cache_dir() / INCEPTION_NOTOP
        if not path.is_file():
            raise MriGanError(
                f"InceptionV3 weights not found at {path}: copy {INCEPTION_NOTOP} (Keras' ImageNet no-top weights) "
                f"into {keras_cache_dir()}/ or pass -s eval.inception_weights=FILE; nothing is downloaded "
                f"(or use --features classifier)")
        weights = str(path)
    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                           input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    name = "inception_v3" if weights is not None else "inception_v3_random_weights"
    return FeatureExtractor(model, name, batch_size)


def model_extractor(path: str | Path, batch_size: int = 64) -> FeatureExtractor:
    """Any `.keras` model, cut at its "features" layer when it has one."""
    import keras

    from mri_gan.backend import keep_tensorflow_out

    keep_tensorflow_out()
    path = Path(path)
    if not path.is_file():
        raise MriGanError(f"feature model not found: {path} (use classifier, inception or a .keras file)")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - any load failure is a bad input file
        raise MriGanError(f"cannot load feature model {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return FeatureExtractor(_cut_features(model), f"model:{path.name}", batch_size)


def _prep_fingerprint(prep: Path, paths: list[str]) -> str:
    """Key of the training files: relative path, size and mtime of each (as `prepare`'s key), so a
    re-written image of the same size retrains the feature model instead of reusing a stale one."""
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.relpath(p, prep)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def classifier_extractor(prep: str | Path, eval_cfg, clf_cfg, show_progress: bool = True) -> FeatureExtractor:
    """Train (once, cached) the feature classifier on PREP/train and return its "features" cut."""
    import keras

    from mri_gan.backend import keep_tensorflow_out, set_random_seed
    from mri_gan.data.pipeline import list_split, load_uint8, make_dataset, read_prepared_info
    from mri_gan.models.classifier import build_classifier
    from mri_gan.utils import atomic_write_text

    keep_tensorflow_out()
    prep = Path(prep)
    info = read_prepared_info(prep)
    size = int(info["size"])
    paths, labels, class_names = list_split(prep, "train")
    if len(paths) == 0:
        raise MriGanError(f"no training images in {prep}/train to train the feature classifier on")
    if len(class_names) < 2 or len(set(labels.tolist())) < 2:
        raise MriGanError(f"the feature classifier needs >= 2 classes with images in {prep}/train (found {class_names})")
    # Always the paper's Table II network (only its head, batch and lr configurable): a classifier
    # preset such as `strong` must not change what the features are, and the key names all of it.
    from mri_gan.config import ClassifierConfig

    c = ClassifierConfig(head=eval_cfg.feature_head, batch_size=clf_cfg.batch_size, lr=clf_cfg.lr)
    settings = {"size": size, "classes": class_names, "head": c.head, "epochs": eval_cfg.feature_epochs,
                "batch_size": c.batch_size, "lr": c.lr, "seed": eval_cfg.seed, "keras": keras.__version__,
                "files": _prep_fingerprint(prep, paths)}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = prep / ".cache" / f"feature_classifier_{key}.keras"
    if not path.is_file():
        set_random_seed(eval_cfg.seed)
        model = build_classifier(c, size, len(class_names), name="feature_classifier")
        model.compile(optimizer=keras.optimizers.Adam(c.lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        ds = make_dataset(paths, labels, batch_size=c.batch_size, shuffle=True, seed=eval_cfg.seed)
        hist = model.fit(ds, epochs=eval_cfg.feature_epochs, shuffle=False,  # ds is already shuffled (seeded)
                         verbose=2 if show_progress else 0)
        # Fixed rescaling so the mean square activation on the real training images is 1: ReLU
        # features of a freshly trained CNN can be large, and KID's cubic kernel (x.y/D + 1)^3
        # then explodes. FID scales with its square; both stay comparable for one cached model.
        raw = FeatureExtractor(_cut_features(model), "raw", eval_cfg.feature_batch)(load_uint8(paths))
        settings["feature_scale"] = float(1.0 / max(np.sqrt(np.mean(raw ** 2)), 1e-12))
        settings["train_accuracy"] = [float(v) for v in hist.history.get("accuracy", [])]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.keras")
        model.save(tmp)
        atomic_write_text(path.with_suffix(".json"), json.dumps(settings, indent=2) + "\n")
        os.replace(tmp, path)  # last: a model file without its JSON never exists
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    model = keras.models.load_model(path, compile=False)
    ext = FeatureExtractor(_cut_features(model), f"classifier:{path.name}", eval_cfg.feature_batch,
                           scale=meta.get("feature_scale", 1.0))
    ext.path = str(path)
    return ext


def get_extractor(spec: str | None, eval_cfg, clf_cfg=None, prep: str | Path | None = None,
                  show_progress: bool = True) -> FeatureExtractor:
    """Build the extractor named by `spec` (classifier | inception | PATH; None = eval_cfg.features)."""
    spec = spec or eval_cfg.features
    if spec == "classifier":
        if prep is None:
            raise MriGanError("--features classifier needs a prepared dir to train on: pass --prep PREP "
                              "(or use --features inception / a .keras file)")
        if clf_cfg is None:
            from mri_gan.config import ClassifierConfig

            clf_cfg = ClassifierConfig()
        return classifier_extractor(prep, eval_cfg, clf_cfg, show_progress)
    if spec == "inception":
        return inception_extractor(eval_cfg.inception_weights, min(eval_cfg.feature_batch, 32))
    if spec.endswith(".keras") or Path(spec).exists():
        return model_extractor(spec, eval_cfg.feature_batch)
    raise MriGanError(f"unknown feature extractor {spec!r}: use classifier, inception or a path to a .keras model")
