"""tf.data pipelines from a prepared directory to batched float tensors in [-1, 1].

Images stay uint8 until the last map (the cache holds uint8, never float32), are decoded in
parallel and prefetched. Labels index into the sorted class names of the prepared dir.

Under another Keras backend (KERAS_BACKEND=jax or torch, where TensorFlow may be absent),
`make_dataset` returns `KerasBatches`, a `keras.utils.PyDataset` with the same batches (uint8
cache, seeded reshuffle each epoch): the classifier runs on any backend. The GAN's `fit` feeds
its own batches on any backend (mri_gan/gans/batches.py: `decode_all`, `epoch_dataset`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.utils import read_json

IMAGE_EXTS = (".png",)


def read_prepared_info(prep: str | Path) -> dict:
    """prepare.json of a prepared dir, or a one-line error if `prep` is not one."""
    prep = Path(prep)
    info_path = prep / "prepare.json"
    if not prep.is_dir():
        raise MriGanError(f"prepared dir not found: {prep}")
    if not info_path.is_file():
        raise MriGanError(f"{prep} is not a prepared dir (no prepare.json): run `mrigan-tf prepare` first")
    info = read_json(info_path, " (interrupted prepare? run it again)")
    if "classes" not in info:
        classes = sorted(p.name for p in (prep / "train").iterdir() if p.is_dir()) if (prep / "train").is_dir() else []
        info["classes"] = classes
    return info


def list_images(folder: str | Path) -> list[str]:
    """Sorted PNG files directly in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def list_split(prep: str | Path, split: str, classes: list[str] | None = None):
    """(paths, labels, class_names) of one split of a prepared dir.

    `classes`: subset to return (None = all); labels index into `class_names`, which is always the
    full sorted class list of the prepared dir so labels mean the same thing in every call.
    """
    info = read_prepared_info(prep)
    class_names = sorted(info["classes"])
    wanted = class_names if classes is None else list(classes)
    unknown = [c for c in wanted if c not in class_names]
    if unknown:
        raise MriGanError(f"unknown class {unknown[0]!r} in {prep} (classes: {', '.join(class_names)})")
    paths, labels = [], []
    for name in wanted:
        files = list_images(Path(prep) / split / name)
        paths += files
        labels += [class_names.index(name)] * len(files)
    return paths, np.asarray(labels, dtype=np.int64), class_names


def load_uint8(paths: list[str], size: int | None = None) -> np.ndarray:
    """Decode PNG/JPEG files to a uint8 array (N, H, W); resized to `size` if given."""
    import cv2

    out = []
    for p in paths:
        img = cv2.imdecode(np.fromfile(p, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise MriGanError(f"cannot decode {p}")
        if size is not None and img.shape != (size, size):
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        out.append(img)
    if not out:
        return np.zeros((0, size or 0, size or 0), np.uint8)
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise MriGanError(f"images of different sizes {sorted(shapes)[:3]}: pass a size")
    return np.stack(out)


def from_uint8(a):
    """uint8 [0, 255] -> float32 [-1, 1] (works on NumPy arrays and tensors)."""
    if isinstance(a, np.ndarray):
        return a.astype(np.float32) / 127.5 - 1.0
    import tensorflow as tf

    return tf.cast(a, tf.float32) / 127.5 - 1.0


def to_uint8(x) -> np.ndarray:
    """float [-1, 1] (array or tensor) -> uint8 [0, 255], rounded and clipped."""
    x = np.asarray(x, dtype=np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_dataset(paths, labels=None, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                 drop_remainder: bool = False, cache: bool = True, shuffle_buffer: int = 2048):
    """Batches of float32 images in [-1, 1], shape (B, H, W, 1) (and int64 labels if given)."""
    if len(paths) == 0:
        raise MriGanError("no images to read (empty class or split?)")
    import keras

    if keras.backend.backend() != "tensorflow":
        return keras_batches(paths, labels, batch_size, shuffle, seed, drop_remainder, cache)
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(list(paths) if labels is None else (list(paths), np.asarray(labels)))

    def decode(path):
        img = tf.io.decode_png(tf.io.read_file(path), channels=1)  # uint8 (H, W, 1)
        return img

    if labels is None:
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        ds = ds.map(lambda p, y: (decode(p), y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache:
        ds = ds.cache()  # uint8 in memory: 1300 images at 512 px = 340 MB; float32 would be 4x
    if shuffle:
        ds = ds.shuffle(min(shuffle_buffer, len(paths)), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def scale(img):
        return tf.cast(img, tf.float32) / 127.5 - 1.0

    if labels is None:
        ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda x, y: (scale(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def keras_batches(paths, labels=None, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                  drop_remainder: bool = False, cache: bool = True):
    """The batches of `make_dataset` as a `keras.utils.PyDataset` (any Keras backend).

    Reshuffled at each epoch's end by a NumPy generator seeded with `seed` (a different order from
    tf.data's shuffle buffer, so runs are reproducible per backend, not across backends)."""
    import keras

    class KerasBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.paths = list(paths)
            self.labels = None if labels is None else np.asarray(labels, np.int64)
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(self.paths)) if shuffle else np.arange(len(self.paths))
            self.cache: dict[int, np.ndarray] = {}

        def __len__(self):
            n = len(self.paths)
            return n // batch_size if drop_remainder else -(-n // batch_size)

        def _image(self, i: int) -> np.ndarray:
            img = self.cache.get(i)
            if img is None:
                img = load_uint8([self.paths[i]])[0]
                if cache:
                    self.cache[i] = img
            return img

        def __getitem__(self, b):
            idx = self.order[b * batch_size:(b + 1) * batch_size]
            x = from_uint8(np.stack([self._image(i) for i in idx])[..., None])
            return x if self.labels is None else (x, self.labels[idx])

        def on_epoch_end(self):
            if shuffle:
                self.order = self.rng.permutation(len(self.paths))

    return KerasBatches()
