"""Stride-2 convolutions of the GAN as stride-1 convolutions on space-to-depth ("phase") tensors,
inside XLA-compiled train steps only.

A kernel-4, stride-2, 'same' `Conv2D` on x equals a kernel-2, stride-1, 'valid' convolution of
space_to_depth(pad(x, 1)) with the 4x4 kernel regrouped into 2x2 taps over four phases; a
`Conv2DTranspose` of that shape is the adjoint: depth_to_space of a kernel-2 convolution, cropped
by one pixel. Same weights, same function (to float rounding); XLA:CPU runs the stride-1 forms
faster than its own stride-2 and input-dilated convolutions at most of the GAN's shapes (2-core
AVX2 EPYC, BENCHMARKS.md, 2026-12-05), while TensorFlow's own kernels (the plain graph) run the
original forms as fast or faster. So the layers keep their Keras classes (checkpoints and
`.keras` files are unchanged) and `install` gives the eligible instances a call that uses the
phase form only while `phase_convs()` is active, i.e. while `GAN` traces its XLA step.
"""

from __future__ import annotations

import contextlib
import contextvars
import types

from keras import ops

_ACTIVE = contextvars.ContextVar("mri_gan_phase_convs", default=False)

# Conv2DTranspose: the phase form lost at small inputs and at one output channel (to_image), so
# it is used from an input side of 16 and 8 filters on (measured per layer, BENCHMARKS.md).
MIN_TRANSPOSE_SIDE = 16
MIN_TRANSPOSE_FILTERS = 8


@contextlib.contextmanager
def phase_convs(active: bool = True):
    """While active, installed layers that are called (i.e. traced) use the phase form."""
    token = _ACTIVE.set(bool(active))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def space_to_depth(x):
    """(B, H, W, C) -> (B, H/2, W/2, 4C), channel order (row phase, column phase, C) as
    tf.nn.space_to_depth."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    x = ops.reshape(x, (-1, h // 2, 2, w // 2, 2, c))
    return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, h // 2, w // 2, 4 * c))


def depth_to_space(x):
    """The inverse of `space_to_depth`."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3] // 4
    x = ops.reshape(x, (-1, h, w, 2, 2, c))
    return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, 2 * h, 2 * w, c))


def phase_kernel(kernel):
    """(4, 4, I, O) -> (2, 2, 4I, O): tap (2a + r, 2b + c) goes to (a, b) and input phase (r, c)."""
    i, o = kernel.shape[2], kernel.shape[3]
    k = ops.reshape(kernel, (2, 2, 2, 2, i, o))  # (a, r, b, c, I, O)
    return ops.reshape(ops.transpose(k, (0, 2, 1, 3, 4, 5)), (2, 2, 4 * i, o))


def _pad1(x):
    return ops.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))


def conv_s2(x, kernel):
    """= ops.conv(x, kernel, strides=2, padding='same') for a (4, 4, I, O) kernel and even H, W."""
    return ops.conv(space_to_depth(_pad1(x)), phase_kernel(kernel), strides=1, padding="valid")


def conv_transpose_s2(x, kernel):
    """= ops.conv_transpose(x, kernel, strides=2, padding='same') for a (4, 4, O, I) kernel (Keras'
    Conv2DTranspose layout): the adjoint of `conv_s2`, a stride-1 convolution with the flipped,
    transposed phase kernel, then depth_to_space and a one-pixel crop."""
    k = ops.transpose(ops.flip(phase_kernel(kernel), axis=(0, 1)), (0, 1, 3, 2))  # (2, 2, I, 4O)
    y = depth_to_space(ops.conv(_pad1(x), k, strides=1, padding="valid"))
    return y[:, 1:-1, 1:-1, :]


def _even_static(x) -> bool:
    h, w = x.shape[1], x.shape[2]
    return h is not None and w is not None and h % 2 == 0 and w % 2 == 0


def _eligible(layer) -> bool:
    from keras import layers

    if type(layer) not in (layers.Conv2D, layers.Conv2DTranspose):  # not subclasses: their ops may differ
        return False
    same = (tuple(layer.kernel_size) == (4, 4) and tuple(layer.strides) == (2, 2)
            and layer.padding == "same" and layer.data_format == "channels_last"
            and tuple(layer.dilation_rate) == (1, 1))
    if isinstance(layer, layers.Conv2DTranspose):
        return same and layer.output_padding is None
    return same and getattr(layer, "groups", 1) == 1


def _conv_op(self, inputs, kernel):
    if _ACTIVE.get() and _even_static(inputs):
        return conv_s2(inputs, kernel)
    return type(self).convolution_op(self, inputs, kernel)


def _transpose_call(self, inputs):
    if not (_ACTIVE.get() and _even_static(inputs) and inputs.shape[1] >= MIN_TRANSPOSE_SIDE
            and self.filters >= MIN_TRANSPOSE_FILTERS):
        return type(self).call(self, inputs)
    out = conv_transpose_s2(inputs, self.kernel)
    if self.use_bias:
        out = ops.add(out, ops.reshape(self.bias, (1, 1, 1, self.filters)))
    return self.activation(out) if self.activation is not None else out


def install(*models) -> int:
    """Give every eligible stride-2 conv of `models` (also inside SpectralNormalization wrappers)
    the phase form under `phase_convs()`; returns how many layers. Idempotent."""
    from keras import layers

    n = 0
    for model in models:
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if not _eligible(layer):
                continue
            if isinstance(layer, layers.Conv2DTranspose):
                layer.call = types.MethodType(_transpose_call, layer)
            else:
                layer.convolution_op = types.MethodType(_conv_op, layer)
            n += 1
    return n
