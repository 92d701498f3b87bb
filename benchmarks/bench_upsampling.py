"""Forward + backward time of the generator's stride-2 upsampling: Conv2DTranspose (kernel 4, the
Table I layer) vs the sub-pixel form (3x3 conv to 4x the channels, then depth-to-space), float32.

    python benchmarks/bench_upsampling.py [--batch 32] [--reps 30]

Shapes are the default 64 px generator's (4 -> 8 -> 16 -> 32 -> 64 px, 256 -> 128 -> 64 -> 32 -> 1
channels). Each variant is one `tf.function` (loss = sum of squares, gradients w.r.t. input and
kernel), 3 untimed calls, then --reps timed ones. Result: BENCHMARKS.md (2026-12-01).
"""

from __future__ import annotations

import argparse
import time

SHAPES = [(4, 256, 128), (8, 128, 64), (16, 64, 32), (32, 32, 1)]  # (input side, in channels, out channels)


def _ms(fn, x, reps):
    for _ in range(3):
        fn(x)
    t = time.perf_counter()
    for _ in range(reps):
        out = fn(x)
    out[0].numpy()
    return (time.perf_counter() - t) / reps * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    import tensorflow as tf

    b = args.batch
    print("| input side | channels in -> out | Conv2DTranspose ms | sub-pixel 3x3 + depth_to_space ms |")
    print("|---|---|---|---|")
    for h, ci, co in SHAPES:
        x = tf.random.normal([b, h, h, ci])
        k_t = tf.Variable(tf.random.normal([4, 4, co, ci]) * 0.05)
        k_s = tf.Variable(tf.random.normal([3, 3, ci, 4 * co]) * 0.05)

        @tf.function
        def transposed(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.nn.conv2d_transpose(x, k_t, [b, 2 * h, 2 * h, co], 2, padding="SAME")
                loss = tf.reduce_sum(y * y)
            return tape.gradient(loss, [x, k_t])

        @tf.function
        def subpixel(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.nn.depth_to_space(tf.nn.conv2d(x, k_s, 1, "SAME"), 2)
                loss = tf.reduce_sum(y * y)
            return tape.gradient(loss, [x, k_s])

        print(f"| {h} | {ci} -> {co} | {_ms(transposed, x, args.reps):.2f} | {_ms(subpixel, x, args.reps):.2f} |", flush=True)


if __name__ == "__main__":
    main()
