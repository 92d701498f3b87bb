"""Two training steps of small GANs with the same weights, data and (patched, deterministic)
random draws, run once per backend and compared by tests/gans/test_jax_step.py:
`python step_probe.py IN.npz OUT.npz` under KERAS_BACKEND=jax, or `compute(...)` in the test
process (TensorFlow). The real draws differ between backends (mri_gan/gans/rng.py), so they are
replaced here by smooth functions of the seed, which the SeedGenerator makes equal on both."""

from __future__ import annotations

import sys

import numpy as np

# name -> (gan.* / train.* overrides, conditional); together they reach every branch of the step
CONFIGS = {
    "proposed": ({"gan.kind": "proposed", "train.ema": 0.9, "train.diffaugment": "translation,cutout,color", "gan.r1_every": 2}, False),
    "wgan_gp_ada": ({"gan.kind": "wgan_gp", "gan.n_critic": 2, "train.ada": True, "train.ada_target": -1.0,
                     "train.ada_interval": 1}, False),
    "dcgan_reuse_r1": ({"gan.kind": "dcgan", "train.reuse_fakes": True, "gan.r1_gamma": 1.0, "gan.r1_every": 1},
                       False),  # R1 on every update: the BatchNorm D's known TF/JAX state difference grows with R1's weight
    "infogan": ({"gan.kind": "infogan", "train.reuse_fakes": False}, False),  # the fresh-fakes G step
    "conditional_lsgan": ({"gan.kind": "lsgan", "train.ema": 0.5}, True),
}
SIZE, BATCH, STEPS = 16, 8, 2


def _patch_rng():
    import keras
    from keras import ops

    from mri_gan.gans import rng

    tf_backend = keras.backend.backend() == "tensorflow"

    def wave(shape, seed):
        s = ops.cast(seed, "float32")
        if tf_backend:
            import tensorflow as tf

            n = tf.reduce_prod(tf.stack([tf.cast(d, tf.int32) for d in shape]))
            t = tf.cast(tf.range(n), tf.float32)
        else:
            t = ops.arange(int(np.prod(shape)), dtype="float32")
        return ops.reshape(ops.sin(t * 0.7311 + s[0] * 0.13 + s[1] * 1.37), shape)

    def normal(shape, seed):
        return 1.5 * wave(shape, seed)

    def uniform(shape, seed, minval=0.0, maxval=1.0, dtype="float32"):
        u = 0.4995 * (wave(shape, seed) + 1.0)  # [0, 0.999]
        v = minval + u * (maxval - minval)
        return ops.cast(ops.floor(v), "int32") if dtype == "int32" else v

    def split(seed, n):
        s = ops.cast(seed, "float32")
        return ops.stack([ops.stack([s[0] + i + 1.0, s[1] * 7.0 + 13.0 * i]) for i in range(n)])

    rng.normal, rng.uniform, rng.split = normal, uniform, split


def build(name):
    from mri_gan.config import Config
    from mri_gan.gans.factory import build_gan

    overrides, conditional = CONFIGS[name]
    cfg = Config()
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 32, 8, 8, 32, 16
    for key, value in overrides.items():
        section, attr = key.split(".")
        setattr(getattr(cfg, section), attr, value)
    cfg.gan.conditional = conditional
    cfg.train.batch_size = BATCH
    gan = build_gan(cfg, SIZE, 3 if conditional else 0)
    if conditional:
        # Keras' Adam on TF steps embedding rows repeated in a batch (IndexedSlices) further than
        # the dense gradient says; plain SGD is exact on both, so the label path compares exactly.
        import keras

        gan.d_optimizer, gan.g_optimizer = keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05)
        gan.d_optimizer.build(gan.discriminator.trainable_variables)
        gan.g_optimizer.build(gan.generator.trainable_variables)
    return gan


def models(gan):
    return [("generator", gan.generator), ("discriminator", gan.discriminator)] + (
        [("ema", gan.ema_generator)] if gan.ema_generator is not None else [])


def compute(inp: dict, names=None) -> dict:
    """Set each GAN's weights from `inp` (when given), train STEPS steps; returns the weights
    before (`init/...`) and after, the losses and the counters."""
    import keras

    _patch_rng()
    out = {}
    for name in names or CONFIGS:
        gan = build(name)
        for key, model in models(gan):
            if f"{name}/init/{key}/n" in inp:
                model.set_weights([inp[f"{name}/init/{key}/{i}"] for i in range(int(inp[f"{name}/init/{key}/n"]))])
            w = model.get_weights()
            out[f"{name}/init/{key}/n"] = np.array(len(w))
            out.update({f"{name}/init/{key}/{i}": a for i, a in enumerate(w)})
        x, y = inp["x"], inp["y"]

        def batches():
            while True:
                yield (x, y) if gan.settings.conditional else (x,)

        ds = batches()
        if keras.backend.backend() == "tensorflow":  # static shapes, as run_fit's pipeline gives
            import tensorflow as tf

            ds = tf.data.Dataset.from_tensors((x, y) if gan.settings.conditional else x).repeat()
        hist = gan.fit(ds, steps_per_epoch=STEPS, epochs=1, verbose=0, shuffle=False).history
        for k, v in hist.items():
            out[f"{name}/log/{k}"] = np.array(v[-1], np.float32)
        for key, model in models(gan):
            for i, a in enumerate(model.get_weights()):
                out[f"{name}/final/{key}/{i}"] = a
            out[f"{name}/names/{key}"] = np.array([w.path for w in model.weights])
            out[f"{name}/trainable/{key}"] = np.array([w.trainable for w in model.weights])
        out[f"{name}/g_steps"] = np.array(int(np.asarray(gan.g_optimizer.iterations)))
        out[f"{name}/d_steps"] = np.array(int(np.asarray(gan.d_optimizer.iterations)))
        out[f"{name}/ada_p"] = np.array(float(np.asarray(gan.ada_p)), np.float32)
    return out


def data() -> dict:
    r = np.random.default_rng(1)
    return {"x": np.tanh(r.standard_normal((BATCH, SIZE, SIZE, 1))).astype(np.float32),
            "y": (np.arange(BATCH) % 3).astype(np.int32)}


if __name__ == "__main__":
    np.savez(sys.argv[2], **compute(dict(np.load(sys.argv[1]))))
