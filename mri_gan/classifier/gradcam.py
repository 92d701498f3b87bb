"""Grad-CAM (Selvaraju et al. 2017): where in the slice the classifier found its answer.

For class c with pre-softmax score y^c and the feature maps A^k of a conv layer,

    alpha_k^c = mean over (i, j) of d y^c / d A^k_ij,     L^c = ReLU(sum_k alpha_k^c A^k),

upsampled (bilinear) to the input size and scaled to [0, 1] per image. The upsampling puts each
map cell at the centre of its receptive field (valid convolutions and pooling shift and stretch
the grid; a plain resize would move a valid-conv map by a few pixels at 32-64 px). The score is the logit
(the softmax's input, recomputed from the "probabilities" Dense layer), not the probability:
a confident softmax saturates and its gradient vanishes. The default layer is the last Conv2D
together with the BatchNormalization / ReLU right after it (the rectified maps of the paper's
model's conv2, of the strong model's last conv). Gradients through TensorFlow's GradientTape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError

_FOLLOWERS = ("BatchNormalization", "Activation", "ReLU")


def target_layer(model) -> str:
    """Name of the default Grad-CAM layer: the last Conv2D, or the BatchNorm/ReLU that follow it."""
    import keras

    layers = model.layers
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise MriGanError(f"model {model.name} has no Conv2D layer for Grad-CAM")
    i = convs[-1]
    while i + 1 < len(layers) and type(layers[i + 1]).__name__ in _FOLLOWERS:
        i += 1
    return layers[i].name


def grad_cam(model, x, layer: str | None = None, class_index=None) -> tuple[np.ndarray, np.ndarray]:
    """(heat maps (N, H, W) in [0, 1], explained class per image) for images `x` (N, H, W, 1) in
    [-1, 1]. `class_index`: None = each image's predicted class, an int or one per image."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise MriGanError(f"Grad-CAM needs the TensorFlow backend (GradientTape), not {keras.backend.backend()}")
    import tensorflow as tf

    name = layer or target_layer(model)
    head = model.get_layer("probabilities")
    cut = keras.Model(model.inputs, [model.get_layer(name).output, head.input])
    x = tf.convert_to_tensor(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        maps, hidden = cut(x, training=False)  # training=False: augmentation, dropout and BatchNorm as at inference
        tape.watch(maps)
        logits = tf.matmul(tf.cast(hidden, tf.float32), tf.cast(head.kernel, tf.float32)) + tf.cast(head.bias, tf.float32)
        if class_index is None:
            cls = tf.argmax(logits, axis=1, output_type=tf.int32)
        else:
            cls = tf.broadcast_to(tf.constant(class_index, tf.int32), tf.shape(logits)[:1])
        score = tf.gather(logits, cls, axis=1, batch_dims=1)
    grads = tape.gradient(score, maps)
    maps, grads = tf.cast(maps, tf.float32), tf.cast(grads, tf.float32)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # alpha_k: global-average-pooled gradients
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1)).numpy()
    cam = _upsample(cam, _grid(model, name), int(x.shape[1]), int(x.shape[2]))
    peak = cam.max(axis=(1, 2), keepdims=True)
    cam = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    return cam.astype(np.float32), cls.numpy()


def _grid(model, name: str):
    """(offset, stride) in input px of the cells of layer `name`'s map: cell i is centred at
    offset + i * stride. Walks the layers up to it (a sequential conv/pool stack); None when a
    layer's geometry is unknown (then the map is simply resized)."""
    offset, stride = 0.0, 1.0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
            k = layer.kernel_size[0] if kind == "Conv2D" else layer.pool_size[0]
            st = layer.strides[0]
            if layer.padding == "valid":
                offset += (k - 1) / 2 * stride
            elif k % 2 == 0 or st != 1:  # TF "same" with even windows or strides pads unevenly: not modelled
                return None
            stride *= st
        if layer.name == name:
            return offset, stride
    return None


def _upsample(cam: np.ndarray, grid, height: int, width: int) -> np.ndarray:
    """Bilinear (N, h, w) -> (N, height, width), cells placed at their receptive-field centres."""
    from scipy.ndimage import map_coordinates

    n, h, w = cam.shape
    if grid is None:  # a plain resize (half-pixel centres): stride = the scale, offset = (stride - 1) / 2
        stride_r, stride_c = height / h, width / w
        offset_r, offset_c = (stride_r - 1) / 2, (stride_c - 1) / 2
    else:
        offset_r = offset_c = grid[0]
        stride_r = stride_c = grid[1]
    rows = (np.arange(height) - offset_r) / stride_r
    cols = (np.arange(width) - offset_c) / stride_c
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    return np.stack([map_coordinates(c, [rr, cc], order=1, mode="nearest") for c in cam])


def overlay(image_u8: np.ndarray, heat: np.ndarray, alpha: float = 0.45, min_side: int = 256) -> np.ndarray:
    """BGR uint8 picture: the slice | the slice under the heat map (jet colours), each upscaled by
    a whole factor to at least `min_side` px so a 64 px slice stays readable."""
    import cv2

    img = np.asarray(image_u8, np.uint8).squeeze()
    f = max(1, -(-min_side // img.shape[0]))
    size = (img.shape[1] * f, img.shape[0] * f)
    big = cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)
    hot = cv2.resize(np.asarray(heat, np.float32), size, interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap(np.clip(hot * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    gray = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    mixed = cv2.addWeighted(gray, 1.0 - alpha, colour, alpha, 0.0)
    return np.concatenate([gray, np.full((size[1], 4, 3), 255, np.uint8), mixed], axis=1)


def write_explanations(model, images_u8, names, out_dir, class_names, probs=None, layer: str | None = None) -> list[Path]:
    """Grad-CAM of the predicted class for each image, as OUT_DIR/<name>_gradcam.png (slice | overlay,
    the class and its probability written on top); names that repeat get _2, _3, ...; returns the paths."""
    import cv2

    from mri_gan.data.pipeline import from_uint8
    from mri_gan.utils import atomic_write_bytes

    images_u8 = np.asarray(images_u8, np.uint8)
    heat, cls = grad_cam(model, from_uint8(images_u8)[..., None], layer=layer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, used = [], {}
    for i, (name, h, c) in enumerate(zip(names, heat, cls)):
        stem = Path(name).stem
        used[stem] = used.get(stem, 0) + 1
        if used[stem] > 1:
            stem = f"{stem}_{used[stem]}"
        pic = overlay(images_u8[i], h)
        label = class_names[int(c)] + (f" {float(probs[i][int(c)]):.2f}" if probs is not None else "")
        cv2.putText(pic, f"Grad-CAM: {label}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        ok, buf = cv2.imencode(".png", pic)
        if not ok:
            raise MriGanError(f"cannot encode the Grad-CAM picture of {name}")
        path = out_dir / f"{stem}_gradcam.png"
        atomic_write_bytes(path, buf.tobytes())
        paths.append(path)
    return paths
