"""Export a trained classifier as a TensorFlow SavedModel for serving.

Two endpoints, both (N, S, S, 1) image batch -> (N, classes) float32 probabilities:
- `serving_default`: uint8 images in [0, 255] (what `prepare`/`predict` produce);
- `serve_float`: float32 images already in [-1, 1] (what the training pipeline feeds).
`model.json` (size, class names, data settings) is written beside the SavedModel files so a
server knows the preprocessing and the meaning of each output.
"""

from __future__ import annotations

from pathlib import Path

from mri_gan.utils import write_json


def export_savedmodel(model, out_dir, size: int, class_names: list[str], data: dict | None = None) -> Path:
    import keras
    import tensorflow as tf

    out_dir = Path(out_dir)
    archive = keras.export.ExportArchive()
    archive.track(model)

    def from_uint8(x):
        return model(tf.cast(x, tf.float32) / 127.5 - 1.0, training=False)

    def from_float(x):
        return model(x, training=False)

    archive.add_endpoint("serving_default", from_uint8, input_signature=[tf.TensorSpec((None, size, size, 1), tf.uint8, name="image")])
    archive.add_endpoint("serve_float", from_float, input_signature=[tf.TensorSpec((None, size, size, 1), tf.float32, name="image")])
    archive.write_out(str(out_dir), verbose=False)
    write_json(out_dir / "model.json", {"format": "savedmodel", "size": size, "classes": class_names, "data": data or {},
                                        "signatures": {"serving_default": "uint8 [0,255] (N,S,S,1) -> probabilities",
                                                       "serve_float": "float32 [-1,1] (N,S,S,1) -> probabilities"}})
    return out_dir
