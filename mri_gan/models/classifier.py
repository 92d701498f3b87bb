"""The tumour classifier of the paper's Table II, as one functional Keras model.

    Conv2D(64, 3x3) + ReLU -> MaxPool(2) -> Conv2D(128, 3x3) + ReLU -> MaxPool(2)
    -> Flatten -> Dense(256) + ReLU ("features") -> Dense(classes) + softmax

Valid convolutions, so at S px the flattened volume is ((S-2)//2 - 2)//2 squared times 128:
25,088 values at 64 px, and Flatten -> Dense(256) holds almost all weights (6.4 M at 64 px,
126 M at 256 px, 520 M at 512 px). That is the paper's model and the default.

Variants are options of the same builder (config section `classifier`), never copies:
- `head="gap"`: GlobalAveragePooling2D instead of Flatten (128 -> 256: ~0.11 M parameters at any size);
- `dropout`: Dropout before Dense(256) (and before the output);
- `augment`: random flip / rotation / zoom / translation layers, active only in training.
"""

from __future__ import annotations

from mri_gan.errors import MriGanError

HEADS = ("flatten", "gap")


def table2_shapes(image_size: int) -> dict:
    """Expected activation sides of Table II at `image_size` (for tests and docs)."""
    c1 = image_size - 2
    p1 = c1 // 2
    c2 = p1 - 2
    p2 = c2 // 2
    return {"conv1": c1, "pool1": p1, "conv2": c2, "pool2": p2, "flatten": p2 * p2 * 128}


def build_classifier(clf_cfg, image_size: int, num_classes: int, name: str = "classifier"):
    """Table II CNN for (image_size, image_size, 1) inputs in [-1, 1] -> `num_classes` probabilities.

    The last Dense runs in float32 under a mixed-precision policy so softmax and the loss are
    computed in full precision.
    """
    import keras
    from keras import layers

    head = getattr(clf_cfg, "head", "flatten")
    dropout = float(getattr(clf_cfg, "dropout", 0.0))
    augment = bool(getattr(clf_cfg, "augment", False))
    if head not in HEADS:
        raise MriGanError(f"classifier.head must be one of {', '.join(HEADS)}, got {head!r}")
    if not 0.0 <= dropout < 1.0:
        raise MriGanError(f"classifier.dropout must be in [0, 1), got {dropout}")
    if num_classes < 2:
        raise MriGanError(f"the classifier needs at least 2 classes, got {num_classes}")
    if table2_shapes(image_size)["pool2"] < 1:
        raise MriGanError(f"image size {image_size} is too small for Table II (needs >= 10 px)")

    inputs = keras.Input((image_size, image_size, 1), name="image")
    x = inputs
    if augment:
        # Preprocessing layers are identity at inference; fill with -1 = black in [-1, 1].
        x = layers.RandomFlip("horizontal", name="aug_flip")(x)
        x = layers.RandomRotation(0.05, fill_mode="constant", fill_value=-1.0, name="aug_rotate")(x)
        x = layers.RandomZoom(0.1, fill_mode="constant", fill_value=-1.0, name="aug_zoom")(x)
        x = layers.RandomTranslation(0.05, 0.05, fill_mode="constant", fill_value=-1.0, name="aug_shift")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x) if head == "flatten" else layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.Dense(256, activation="relu", name="features")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def feature_extractor(model):
    """The model cut at its "features" layer (penultimate), e.g. for FID/KID features."""
    import keras

    return keras.Model(model.inputs, model.get_layer("features").output, name=f"{model.name}_features")
