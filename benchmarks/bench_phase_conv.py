"""Per layer: the GAN's stride-2 convolutions in Keras' form vs the phase (space-to-depth) form of
`mri_gan.models.phase_conv`, in TensorFlow's plain graph and under XLA, float32.

    python benchmarks/bench_phase_conv.py [--size 128] [--batch 32] [--reps 6]

Shapes are the default config's generator (Conv2DTranspose, kernel 4, stride 2, batch --batch)
and discriminator (Conv2D, kernel 4, stride 2, batch 2 x --batch: reals and fakes in one call,
`gan.pack=1`). Each cell is one `tf.function` (loss = sum of squares; gradients w.r.t. the input
and the kernel), 3 untimed calls, then --reps timed ones. Prints a Markdown table; results in
BENCHMARKS.md (2026-12-05).
"""

from __future__ import annotations

import argparse

from bench_upsampling import _ms  # the same timing: 3 untimed calls, then the mean of reps


def _cell(op, x, kernel, jit, reps):
    import tensorflow as tf

    @tf.function(jit_compile=jit)
    def fwd_bwd(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = op(x, kernel)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x, kernel])

    return _ms(fwd_bwd, x, reps)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=6)
    args = ap.parse_args()
    import keras
    import tensorflow as tf

    from mri_gan.config import Config
    from mri_gan.models import phase_conv as pc
    from mri_gan.models.discriminator import build_discriminator
    from mri_gan.models.generator import build_generator

    cfg = Config()
    cfg.gan.pack = 1
    g, d = build_generator(cfg.gan, args.size), build_discriminator(cfg.gan, args.size)
    rows = []
    for layer in g.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose) and tuple(layer.strides) == (2, 2):
            h, ci = layer.input.shape[1], layer.input.shape[-1]
            rows.append(("G " + layer.name, args.batch, h, ci, layer.filters, True))
    for layer in d._flatten_layers(include_self=False):
        if type(layer).__name__ == "Conv2D" and tuple(layer.strides) == (2, 2):
            h, ci = layer.input.shape[1], layer.input.shape[-1]
            rows.append(("D " + layer.name, 2 * args.batch, h, ci, layer.filters, False))
    print(f"size {args.size}, float32, {args.reps} timed calls; ms per forward + backward")
    print("| layer | batch | input | channels | Keras plain | phase plain | Keras XLA | phase XLA | XLA speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, b, h, ci, co, transposed in rows:
        x = tf.random.normal([b, h, h, ci])
        if transposed:
            kernel = tf.Variable(tf.random.normal([4, 4, co, ci]) * 0.05)
            ops = (lambda x, k: keras.ops.conv_transpose(x, k, strides=2, padding="same"), pc.conv_transpose_s2)
        else:
            kernel = tf.Variable(tf.random.normal([4, 4, ci, co]) * 0.05)
            ops = (lambda x, k: keras.ops.conv(x, k, strides=2, padding="same"), pc.conv_s2)
        t = [_cell(op, x, kernel, jit, args.reps) for jit in (False, True) for op in ops]
        print(f"| {name} | {b} | {h} | {ci} -> {co} | {t[0]:.1f} | {t[1]:.1f} | {t[2]:.1f} | {t[3]:.1f} | "
              f"{t[2] / t[3]:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
