"""The XLA-compiled train step on TensorFlow (`train.jit_compile`, one replica), with the
stride-2 convolutions in phase form inside it (`mri_gan.models.phase_conv`).

A step whose D updates include no R1 update is one XLA-compiled function; a step with a due
lazy-R1 update (every `r1_every`-th D update) runs as the plain graph: R1's gradient of a gradient
compiles to convolutions that XLA:CPU runs ~10x slower than TensorFlow's kernels (BENCHMARKS.md),
while the rest of the step runs faster under XLA on the speed issue's CPU. With R1 on every update
nothing is compiled. The same arithmetic either way, to float rounding.
"""

from __future__ import annotations

import functools

from keras import ops

from mri_gan.gans.sampling import is_tf


def install(settings, generator, discriminator) -> None:
    """Give the eligible stride-2 convolutions their phase form (used only while the XLA step is
    traced), where `settings.jit` compiles the steps on TensorFlow."""
    if settings.jit and is_tf():
        from mri_gan.models.phase_conv import install as install_phase_convs

        install_phase_convs(generator, discriminator)


def train_body(gan, data):
    """`gan`'s TensorFlow step body under `settings.jit`: compiled where it has no R1 update."""
    import tensorflow as tf

    s = gan.settings

    def plain():
        return gan._train_body(data, gan._d_step, gan._g_step)

    lazy = s.r1_gamma > 0 and s.r1_every > 1
    if s.r1_gamma > 0 and not lazy:  # R1 on every update: nothing to compile
        return plain()
    if gan._xla_body is None:
        from mri_gan.models.phase_conv import phase_convs

        def body(d):
            with phase_convs():  # traced once: the compiled step holds the phase forms
                return gan._train_body(d, functools.partial(gan._d_step, r1=False),
                                       functools.partial(gan._g_step, r1=False))

        gan._xla_body = tf.function(body, jit_compile=True, autograph=False)
    if not lazy:
        return gan._xla_body(data)
    it = ops.convert_to_tensor(gan.d_optimizer.iterations)
    # this step's D updates use iterations it .. it + n_critic - 1: is one of them a multiple of N?
    due = ops.less(ops.mod(s.r1_every - ops.mod(it, s.r1_every), s.r1_every), s.n_critic)
    return tf.cond(due, plain, lambda: gan._xla_body(data))
