"""The tumour classifier: the paper's Table II by default, as one functional Keras model.

    Conv2D(64, 3x3) + ReLU -> MaxPool(2) -> Conv2D(128, 3x3) + ReLU -> MaxPool(2)
    -> Flatten -> Dense(256) + ReLU ("features") -> Dense(classes) + softmax

Valid convolutions, so at S px the flattened volume is ((S-2)//2 - 2)//2 squared times 128:
25,088 values at 64 px, and Flatten -> Dense(256) holds almost all weights (6.4 M at 64 px,
126 M at 256 px, 520 M at 512 px). That is the paper's model and the default.

Variants are options of the same builder (config section `classifier`), never copies:
- `filters`, `convs_per_block`, `padding`: the conv stack, one block per entry of `filters`
  (conv(s) -> 2x2 max-pool); blocks with one conv name it conv<b>, with more conv<b>_<j>;
- `batchnorm`: conv (no bias) -> BatchNormalization (<conv>_bn, momentum 0.9: the moving
  statistics settle in ~50 steps, not the ~500 of Keras' 0.99) -> ReLU (<conv>_relu);
- `head="gap"`: GlobalAveragePooling2D instead of Flatten;
- `dropout`: Dropout before Dense(256) (and before the output);
- `augment` / `augment_intensity`: random flip / rotation / zoom / translation, and random
  brightness / contrast layers; Keras runs them only in training (identity at inference).
The `strong` preset (config.CLASSIFIER_PRESETS) combines them.
"""

from __future__ import annotations

from mri_gan.errors import MriGanError

HEADS = ("flatten", "gap")
PADDINGS = ("valid", "same")
VALUE_RANGE = (-1.0, 1.0)  # the model's input range (pipeline.from_uint8)


def table2_shapes(image_size: int) -> dict:
    """Expected activation sides of Table II at `image_size` (for tests and docs)."""
    c1 = image_size - 2
    p1 = c1 // 2
    c2 = p1 - 2
    p2 = c2 // 2
    return {"conv1": c1, "pool1": p1, "conv2": c2, "pool2": p2, "flatten": p2 * p2 * 128}


def final_side(image_size: int, blocks: int, convs_per_block: int = 1, padding: str = "valid") -> int:
    """Side of the last pooled volume: each valid 3x3 conv takes 2 px, each pool halves (floor)."""
    side = image_size
    for _ in range(blocks):
        side = (side - (2 * convs_per_block if padding == "valid" else 0)) // 2
        if side < 1:
            return 0
    return side


def build_classifier(clf_cfg, image_size: int, num_classes: int, name: str = "classifier"):
    """CNN for (image_size, image_size, 1) inputs in [-1, 1] -> `num_classes` probabilities.

    The last Dense runs in float32 under a mixed-precision policy so softmax and the loss are
    computed in full precision.
    """
    import keras
    from keras import layers

    head = getattr(clf_cfg, "head", "flatten")
    dropout = float(getattr(clf_cfg, "dropout", 0.0))
    augment = bool(getattr(clf_cfg, "augment", False))
    intensity = bool(getattr(clf_cfg, "augment_intensity", False))
    filters = [int(f) for f in getattr(clf_cfg, "filters", [64, 128])]
    convs = int(getattr(clf_cfg, "convs_per_block", 1))
    padding = getattr(clf_cfg, "padding", "valid")
    batchnorm = bool(getattr(clf_cfg, "batchnorm", False))
    if head not in HEADS:
        raise MriGanError(f"classifier.head must be one of {', '.join(HEADS)}, got {head!r}")
    if padding not in PADDINGS:
        raise MriGanError(f"classifier.padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
    if not filters or min(filters) < 1 or convs < 1:
        raise MriGanError(f"classifier.filters must be positive and convs_per_block >= 1, got {filters}, {convs}")
    if not 0.0 <= dropout < 1.0:
        raise MriGanError(f"classifier.dropout must be in [0, 1), got {dropout}")
    if num_classes < 2:
        raise MriGanError(f"the classifier needs at least 2 classes, got {num_classes}")
    if final_side(image_size, len(filters), convs, padding) < 1:
        raise MriGanError(f"image size {image_size} is too small for {len(filters)} conv blocks "
                          f"({convs} {padding} conv(s) + pool each)")

    inputs = keras.Input((image_size, image_size, 1), name="image")
    x = inputs
    if augment:
        # Fill with -1 = black in [-1, 1].
        x = layers.RandomFlip("horizontal", name="aug_flip")(x)
        x = layers.RandomRotation(0.05, fill_mode="constant", fill_value=-1.0, name="aug_rotate")(x)
        x = layers.RandomZoom(0.1, fill_mode="constant", fill_value=-1.0, name="aug_zoom")(x)
        x = layers.RandomTranslation(0.05, 0.05, fill_mode="constant", fill_value=-1.0, name="aug_shift")(x)
    if intensity:
        x = layers.RandomBrightness(0.1, value_range=VALUE_RANGE, name="aug_brightness")(x)
        x = layers.RandomContrast(0.1, value_range=VALUE_RANGE, name="aug_contrast")(x)
    for b, f in enumerate(filters, start=1):
        for j in range(1, convs + 1):
            conv = f"conv{b}" if convs == 1 else f"conv{b}_{j}"
            if batchnorm:
                x = layers.Conv2D(f, 3, padding=padding, use_bias=False, name=conv)(x)
                x = layers.BatchNormalization(momentum=0.9, name=f"{conv}_bn")(x)  # PyTorch's 0.1: settles in ~50 steps
                x = layers.Activation("relu", name=f"{conv}_relu")(x)
            else:
                x = layers.Conv2D(f, 3, padding=padding, activation="relu", name=conv)(x)
        x = layers.MaxPooling2D(2, name=f"pool{b}")(x)
    x = layers.Flatten(name="flatten")(x) if head == "flatten" else layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.Dense(256, activation="relu", name="features")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def build_optimizer(clf_cfg, steps_per_epoch: int, epochs: int, total_steps: int | None = None):
    """Adam (Table II) or AdamW, at a constant learning rate or on a cosine schedule (with an
    optional linear warm-up) over `epochs` x `steps_per_epoch` steps (`total_steps` where the
    epochs differ in length)."""
    import keras

    opt = getattr(clf_cfg, "optimizer", "adam")
    wd = float(getattr(clf_cfg, "weight_decay", 0.0))
    schedule = getattr(clf_cfg, "lr_schedule", "constant")
    lr = float(clf_cfg.lr)
    if opt not in ("adam", "adamw"):
        raise MriGanError(f"classifier.optimizer must be adam or adamw, got {opt!r}")
    if wd < 0 or (wd > 0 and opt != "adamw"):
        raise MriGanError(f"classifier.weight_decay ({wd}) needs classifier.optimizer=adamw and must be >= 0")
    if schedule == "cosine":
        total = max(int(total_steps) if total_steps else int(steps_per_epoch) * int(epochs), 1)
        warmup = min(int(round(float(getattr(clf_cfg, "warmup_epochs", 0.0)) * steps_per_epoch)), total - 1)
        if warmup > 0:
            lr = keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=lr, warmup_steps=warmup)
        else:
            lr = keras.optimizers.schedules.CosineDecay(lr, total)
    elif schedule != "constant":
        raise MriGanError(f"classifier.lr_schedule must be constant or cosine, got {schedule!r}")
    if opt == "adamw":
        adamw = keras.optimizers.AdamW(lr, weight_decay=wd)
        adamw.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])  # decay kernels only (usual practice)
        return adamw
    return keras.optimizers.Adam(lr)


def build_loss(clf_cfg):
    """Sparse categorical cross-entropy on integer labels, with label smoothing if
    `label_smoothing` > 0 (Szegedy et al. 2016: targets (1 - e) one-hot + e / k)."""
    import keras

    ls = float(getattr(clf_cfg, "label_smoothing", 0.0))
    if not 0.0 <= ls < 1.0:
        raise MriGanError(f"classifier.label_smoothing must be in [0, 1), got {ls}")
    if ls == 0:
        return keras.losses.SparseCategoricalCrossentropy()
    return _smoothed_loss_class()(label_smoothing=ls)


def _smoothed_loss_class():
    """Keras' sparse loss has no label smoothing: one-hot the labels for the categorical one
    (labels and datasets stay integer, so the "accuracy" metric and class weights work as before)."""
    import keras

    global _SMOOTHED
    if _SMOOTHED is None:
        @keras.saving.register_keras_serializable(package="mri_gan")
        class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
            def __init__(self, label_smoothing=0.0, name="smoothed_sparse_categorical_crossentropy", **kwargs):
                super().__init__(name=name, **kwargs)
                self.label_smoothing = float(label_smoothing)

            def call(self, y_true, y_pred):
                k = y_pred.shape[-1]
                y = keras.ops.one_hot(keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,)), k, dtype=y_pred.dtype)
                return keras.losses.categorical_crossentropy(y, y_pred, label_smoothing=self.label_smoothing)

            def get_config(self):
                return {**super().get_config(), "label_smoothing": self.label_smoothing}

        _SMOOTHED = SmoothedSparseCategoricalCrossentropy
    return _SMOOTHED


_SMOOTHED = None
