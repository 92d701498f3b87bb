"""What differs per Keras backend, in one place: which backend runs, seeding, and keeping
TensorFlow out of a JAX process.

Keras 3.15 imports TensorFlow whenever it is installed, even on JAX: `keras.utils.set_random_seed`
seeds tf.random, and `serialize_keras_object` (every `get_config`, `clone_model`, `.keras` save)
checks `isinstance(obj, tf.TensorShape)`. That costs seconds and ~1 GB per process for nothing,
so on a non-TensorFlow backend `keep_tensorflow_out()` tells Keras' lazy `tensorflow` module that
TensorFlow is absent (unless something imported it already). Code that really needs TensorFlow
(the SavedModel export, TensorBoard writing on the TensorFlow backend) imports it directly, which
still works; the metrics are keras.ops code (mri_gan/metrics/ssim.py) and need no TensorFlow.
"""

from __future__ import annotations

import sys


def name() -> str:
    import keras

    return keras.backend.backend()


def is_tensorflow() -> bool:
    return name() == "tensorflow"


def keep_tensorflow_out() -> None:
    if is_tensorflow() or "tensorflow" in sys.modules:
        return
    from keras.src.utils import module_utils

    module_utils.tensorflow._available = False


def allow_tensorflow() -> None:
    """Undo `keep_tensorflow_out` (before code that needs TensorFlow through Keras: the SavedModel export)."""
    from keras.src.utils import module_utils

    if module_utils.tensorflow._available is False:
        module_utils.tensorflow._available = None


def set_random_seed(seed: int) -> None:
    """`keras.utils.set_random_seed` (Python, NumPy, Keras' global seed; TensorFlow's on TF)."""
    import keras

    keep_tensorflow_out()
    keras.utils.set_random_seed(int(seed))
