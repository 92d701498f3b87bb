"""Export a run's generator (the EMA copy when the run used EMA) for use outside this project.

    OUT/generator.keras     Keras 3 file; `keras.models.load_model(path, safe_mode=True)`
    OUT/saved_model/        TF SavedModel with two endpoints (signatures):
        serve(z)        -> float32 images in [-1, 1], (B, S, S, 1)     (also `serving_default`)
        serve_uint8(z)  -> uint8 images in [0, 255], (B, S, S, 1)      (rounded like synthesize)
      z: float32 (B, latent_dim [+ InfoGAN codes]); a conditional generator takes (z, label)
      with label int32 (B, 1).
    OUT/export.json         size, latent layout, classes, kind, source checkpoint and its SHA-256,
                            and the max difference of the reloaded models' outputs (0.0 expected).

Loading the SavedModel: `m = tf.saved_model.load(OUT/"saved_model"); m.serve(z)`.

On JAX the .keras file is written the same way (it loads on every backend); the SavedModel needs
TensorFlow (Keras converts the JAX functions with jax2tf): where TensorFlow is not importable,
`export_run` stops with a one-line error before writing anything, unless `saved_model=False`
(`mrigan-tf export --no-saved-model`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.utils import ensure_empty_or_new, write_json


def _signature(gen):
    import tensorflow as tf

    zdim = gen.latent_dim + gen.info_categorical + gen.info_continuous
    spec = [tf.TensorSpec((None, zdim), tf.float32, name="z")]
    if gen.conditional:
        spec.append(tf.TensorSpec((None, 1), tf.int32, name="label"))
    return spec


class GeneratorSourceLike:
    """`GeneratorSource.generate` for a bare (reloaded) model."""

    def __init__(self, model, conditional: bool):
        self.model, self.conditional = model, conditional

    def generate(self, z, labels=None):
        from mri_gan.gans.synthesis import GeneratorSource

        return GeneratorSource.generate(self, z, labels)


def export_run(run, out, checkpoint: str | None = "auto", overwrite: bool = False, saved_model: bool = True) -> dict:
    import importlib.util

    import keras

    from mri_gan.gans.synthesis import file_sha256, load_generator

    if (Path(run) / "export.json").is_file():
        raise MriGanError(f"{run} is already an exported model; export takes a run dir")
    if saved_model and importlib.util.find_spec("tensorflow") is None:
        raise MriGanError("export writes a TensorFlow SavedModel and needs TensorFlow installed "
                          "(or pass --no-saved-model for generator.keras alone)")
    gen = load_generator(run, checkpoint)
    out = ensure_empty_or_new(out, overwrite)
    model = gen.model

    keras_path = out / "generator.keras"
    tmp = out / ".generator.tmp.keras"
    model.save(tmp)
    os.replace(tmp, keras_path)
    z = gen.latent(4, [12345])
    labels = np.arange(4) % max(1, len(gen.class_names)) if gen.conditional else None
    ref = gen.generate(z, labels)
    reloaded = keras.models.load_model(keras_path, safe_mode=True, compile=False)
    k_out = GeneratorSourceLike(reloaded, gen.conditional).generate(z, labels)
    diff = float(np.abs(ref - k_out).max())
    meta = gen.meta()
    meta.update(keras_file="generator.keras", keras_sha256=file_sha256(keras_path), backend=keras.backend.backend())
    if not saved_model:
        meta.update(saved_model=None, roundtrip_max_abs_diff=diff)
        write_json(out / "export.json", meta)
        if diff > 1e-5:
            raise MriGanError(f"exported model differs from the original (max |diff| {diff:.3g})")
        return {"out": str(out), "keras": str(keras_path), "saved_model": None,
                "checkpoint": gen.checkpoint, "roundtrip_max_abs_diff": diff}
    from mri_gan.backend import allow_tensorflow

    allow_tensorflow()
    import tensorflow as tf
    from keras import ops

    if gen.conditional:
        def images(z, label):
            return model([z, label], training=False)
    else:
        def images(z):
            return model(z, training=False)

    def as_uint8(*args):
        x = images(*args)
        return ops.cast(ops.clip(ops.round((x + 1.0) * 127.5), 0.0, 255.0), "uint8")

    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = _signature(gen)
    archive.add_endpoint(name="serve", fn=images, input_signature=spec)
    archive.add_endpoint(name="serve_uint8", fn=as_uint8, input_signature=spec)
    sm_path = out / "saved_model"
    tmp_sm = out / ".saved_model.tmp"
    shutil.rmtree(tmp_sm, ignore_errors=True)
    archive.write_out(str(tmp_sm), verbose=False)
    shutil.rmtree(sm_path, ignore_errors=True)
    os.replace(tmp_sm, sm_path)

    # prove the round trip: both reloaded forms give the original's outputs
    args = [tf.constant(z)] + ([tf.constant(labels.reshape(-1, 1), tf.int32)] if gen.conditional else [])
    sm = tf.saved_model.load(str(sm_path))
    s_out = np.asarray(sm.serve(*args))
    diff = float(max(diff, np.abs(ref - s_out).max()))
    meta.update(saved_model="saved_model",
                endpoints={"serve": "float32 [-1, 1] (B, S, S, 1)", "serve_uint8": "uint8 [0, 255] (B, S, S, 1)"},
                roundtrip_max_abs_diff=diff)
    write_json(out / "export.json", meta)
    if diff > 1e-5:
        raise MriGanError(f"exported model differs from the original (max |diff| {diff:.3g})")
    return {"out": str(out), "keras": str(keras_path), "saved_model": str(sm_path),
            "checkpoint": gen.checkpoint, "roundtrip_max_abs_diff": diff}
