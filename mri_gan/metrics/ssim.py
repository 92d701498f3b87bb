"""PSNR, MSE, SSIM and MS-SSIM of image batches, computed as `tf.image.psnr`, `tf.image.ssim` and
`tf.image.ssim_multiscale` compute them, on any Keras backend.

The formulas are TensorFlow's (tensorflow/python/ops/image_ops_impl.py), written with `keras.ops`:
- SSIM: a Gaussian window (`filter_size` px, sigma 1.5, normalised to sum 1), 'VALID' filtering
  (no padding: the map is (H - filter_size + 1) px wide), K1 = 0.01, K2 = 0.03, no compensation
  factor, the map averaged over height and width (and channels);
- MS-SSIM: the contrast-structure term at every scale but the last, the SSIM of the last, each
  through ReLU, raised to its power factor and multiplied; between scales the images are halved
  by a 2 x 2 average pool with 'VALID' padding, after repeating the last row / column of an
  odd-sized image (TensorFlow's SYMMETRIC pad by the remainder);
- PSNR: 10 log10(MAX^2 / MSE), infinite for identical images (callers cap it).
The four local means of a scale (of x, y, x*y and x^2 + y^2) are filtered in one go
(`local_means`): the window is separable, so two matrix products per scale, M_h @ X @ M_w^T, on
BLAS or the GPU's matmul. That is the fastest way measured on both backends
(`python benchmarks/bench_ssim.py --filters`): XLA's CPU depthwise convolution was an order of
magnitude slower on JAX, and TensorFlow's 2-D depthwise convolution (tf.image's own op, which this
module used on TensorFlow before 2026-12-05) took 994 ms per 256 pairs at 64 px on an
AVX2-only AMD EPYC against 87 ms for the matrix products. On JAX they run at float32 precision
(`jax.default_matmul_precision("highest")`): a GPU would otherwise use TF32 for them, too coarse
for SSIM's variance terms (no GPU measured here). The results differ from tf.image's by float32
rounding only.

The code is compiled once per input shape: `jax.jit` on JAX, `tf.function` on TensorFlow (where
it measured faster than `tf.image` on CPU, so it replaces tf.image on every backend). `scores`
pads a batch up to a power of two (at least 8) so that few shapes get compiled, and drops the
padding pairs from the result. Inputs and results are NumPy arrays. `tf_scores` is the tf.image
reference; tests/metrics/test_ssim_backends.py holds both backends' results to it and SSIM to a
float64 computation.
"""

from __future__ import annotations

import functools

import numpy as np

FILTER_SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_taps(size: int, sigma: float = FILTER_SIGMA) -> np.ndarray:
    """The 1-D factor of TensorFlow's `_fspecial_gauss` window: (size,) float64 summing to 1 (the
    2-D window, softmax of -(i^2 + j^2) / (2 sigma^2), is its outer product with itself)."""
    c = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-0.5 * c ** 2 / sigma ** 2)
    return g / g.sum()


def filter_matrix(n: int, size: int, sigma: float = FILTER_SIGMA) -> np.ndarray:
    """(n - size + 1, n) float32 matrix M with M @ v = the 'VALID' Gaussian filtering of v (n,)."""
    g = gaussian_taps(size, sigma)
    m = np.zeros((n - size + 1, n), np.float64)
    for i in range(n - size + 1):
        m[i, i:i + size] = g
    return m.astype(np.float32)


def local_means(x, y, filter_size: int) -> list:
    """The 'VALID' Gaussian-window means of x, y, x*y and x^2 + y^2 for (B, H, W) tensors: four
    (B, H - filter_size + 1, W - filter_size + 1) maps (see the module doc for how)."""
    from keras import ops

    maps = [x, y, x * y, x * x + y * y]
    mh = filter_matrix(int(x.shape[1]), filter_size)
    mw = np.ascontiguousarray(filter_matrix(int(x.shape[2]), filter_size).T)
    m = ops.matmul(ops.matmul(mh, ops.stack(maps, axis=1)), mw)
    return [m[:, i] for i in range(4)]


def _ssim_and_cs(x, y, filter_size: int, max_val: float):
    """Per-image SSIM and contrast-structure (means over the 'VALID' map) of (B, H, W) tensors."""
    from keras import ops

    c1, c2 = (K1 * max_val) ** 2, (K2 * max_val) ** 2
    mean_x, mean_y, mean_xy, mean_sq = local_means(x, y, filter_size)
    num0 = mean_x * mean_y * 2.0
    den0 = mean_x * mean_x + mean_y * mean_y
    luminance = (num0 + c1) / (den0 + c1)
    cs = (mean_xy * 2.0 - num0 + c2) / (mean_sq - den0 + c2)
    return ops.mean(luminance * cs, axis=(1, 2)), ops.mean(cs, axis=(1, 2))


def _halve(x):
    """TensorFlow's MS-SSIM downsampling of (B, H, W): pad odd sides by repeating the last
    row/column (its SYMMETRIC pad by the remainder), then a 2 x 2 average pool, 'VALID' padding."""
    from keras import ops

    h, w = int(x.shape[1]), int(x.shape[2])
    if h % 2:
        x = ops.concatenate([x, x[:, -1:]], axis=1)
    if w % 2:
        x = ops.concatenate([x, x[:, :, -1:]], axis=2)
    return ops.average_pool(x[..., None], pool_size=2, strides=2, padding="valid", data_format="channels_last")[..., 0]


def keras_scores(x, y, filter_size: int = 11, power_factors: tuple[float, ...] | None = None,
                 max_val: float = 1.0, psnr: bool = True) -> dict:
    """{"ssim" or "ms_ssim", and with `psnr` "psnr", "mse"} of float (B, H, W, 1) batches in
    [0, max_val], as backend tensors (B,): keras.ops only. `power_factors` None = single-scale SSIM."""
    from keras import ops

    x = ops.convert_to_tensor(x, "float32")[..., 0]
    y = ops.convert_to_tensor(y, "float32")[..., 0]
    out = {}
    if psnr:
        mse = ops.mean(ops.square(x - y), axis=(1, 2))
        out["mse"] = mse
        out["psnr"] = 20.0 * np.log10(max_val) - np.float32(10.0 / np.log(10.0)) * ops.log(mse)
    if not power_factors:
        out["ssim"] = _ssim_and_cs(x, y, filter_size, max_val)[0]
        return out
    mcs = []
    for k in range(len(power_factors)):
        if k > 0:
            x, y = _halve(x), _halve(y)
        ssim, cs = _ssim_and_cs(x, y, filter_size, max_val)
        mcs.append(ops.relu(cs))
    terms = ops.stack(mcs[:-1] + [ops.relu(ssim)], axis=-1)
    pf = ops.convert_to_tensor(np.asarray(power_factors, np.float32))
    out["ms_ssim"] = ops.prod(ops.power(terms, pf), axis=-1)
    return out


def tf_scores(x, y, filter_size: int = 11, power_factors: tuple[float, ...] | None = None,
              max_val: float = 1.0, psnr: bool = True) -> dict:
    """The same as `keras_scores` with TensorFlow's `tf.image` ops (the reference)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x, tf.float32)
    y = tf.convert_to_tensor(y, tf.float32)
    out = {}
    if psnr:
        out["psnr"] = tf.image.psnr(x, y, max_val=max_val)
        out["mse"] = tf.reduce_mean(tf.square(x - y), axis=[1, 2, 3])
    if not power_factors:
        out["ssim"] = tf.image.ssim(x, y, max_val=max_val, filter_size=filter_size)
    else:
        out["ms_ssim"] = tf.image.ssim_multiscale(x, y, max_val=max_val, power_factors=power_factors,
                                                  filter_size=filter_size)
    return out


@functools.lru_cache(maxsize=None)
def _compiled(shape: tuple[int, ...], filter_size: int, power_factors, psnr: bool):
    """`keras_scores` for one input shape and setting, compiled: `jax.jit` on JAX, `tf.function`
    on TensorFlow (one trace each: the shape is part of the key), eager elsewhere."""
    import keras

    fn = functools.partial(keras_scores, filter_size=filter_size, power_factors=power_factors, psnr=psnr)
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jitted = jax.jit(fn)

        def run(x, y):
            with jax.default_matmul_precision("highest"):  # float32 products, not TF32 on a GPU
                return jitted(x, y)

        return run
    if backend == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec(shape, tf.float32)
        return tf.function(fn, input_signature=[spec, spec])
    return fn


def bucket(n: int, cap: int) -> int:
    """The padded batch size of `n` pairs: the next power of two, at least 8, at most max(cap, n)."""
    return int(min(max(8, 1 << max(0, int(n) - 1).bit_length()), max(cap, n)))


def scores(x: np.ndarray, y: np.ndarray, filter_size: int = 11, power_factors: tuple[float, ...] | None = None,
           psnr: bool = True, cap: int = 256) -> dict[str, np.ndarray]:
    """NumPy float32 (B, H, W, 1) in [0, 1] -> {name: float32 (B,)} (see `keras_scores`), compiled
    per batch bucket (B padded with blank pairs to `bucket(B, cap)`; they are dropped)."""
    pf = tuple(float(v) for v in power_factors) if power_factors else None
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32)
    n = len(x)
    b = bucket(n, cap)
    if b > n:  # blank pairs: SSIM 1, PSNR inf, no NaN
        pad = np.zeros((b - n,) + x.shape[1:], np.float32)
        x, y = np.concatenate([x, pad]), np.concatenate([y, pad])
    res = _compiled(tuple(x.shape), int(filter_size), pf, bool(psnr))(x, y)
    return {k: np.asarray(v)[:n] for k, v in res.items()}
