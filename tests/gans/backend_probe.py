"""Fixed-input computations of the backend-neutral pieces, run once per backend and compared by
tests/gans/test_backends_match.py: `python backend_probe.py IN.npz OUT.npz` (run under
KERAS_BACKEND=jax by the test) or `compute(inputs)` in the test process (TensorFlow)."""

from __future__ import annotations

import sys

import numpy as np


def compute(inp: dict) -> dict:
    import keras
    from keras import ops

    from mri_gan.gans import augment as A
    from mri_gan.gans import losses as L
    from mri_gan.gans.factory import packable
    from mri_gan.gans.gan import pack_images
    from mri_gan.gans.sampling import sample_latent
    from mri_gan.models.layers import MinibatchStdDev

    np_ = lambda t: np.asarray(ops.convert_to_numpy(t))  # noqa: E731
    out = {}
    real, fake = inp["real_logits"], inp["fake_logits"]
    for name, (g, d) in L.LOSSES.items():
        out[f"loss_{name}_g"], out[f"loss_{name}_d"] = np_(g(fake)), np_(d(real, fake))
    out["mi"] = np_(L.mutual_information_penalty(inp["cat"], inp["cat_logits"], inp["cont"], inp["cont_pred"]))
    w = ops.convert_to_tensor(inp["critic_w"])

    def critic(t):  # a fixed smooth critic: tanh, weighted sum per image
        return ops.sum(ops.tanh(t) * w, axis=[1, 2, 3])[:, None]

    x, y = inp["x"], inp["y"]
    out["gp"] = np_(L.wasserstein_gradient_penalty(critic, x, y, inp["alpha"]))
    out["r1"] = np_(L.r1_penalty(critic, x))
    # the deterministic parts of the augmentations (random draws differ by backend: rng.py)
    out["shift"] = np_(A._shift(x, inp["ty"], inp["tx"]))
    out["cut"] = np_(A._cut(x, inp["cy"], inp["cx"], 8, 6))
    out["contrast"] = np_(A._contrast_scale(A._brightness_add(x, inp["delta"]), inp["factor"]))
    out["ada_p0"] = np_(A.ada_augment(x, 0.0, np.array([3, 4], "int32")))
    out["ada_update"] = np_(A.ada_update(0.5, 0.7, 0.6, 32, 4, 20000.0))
    out["pack"] = np_(pack_images(x, 2))
    out["mbstd"] = np_(MinibatchStdDev(4)(x))
    out["mbstd_ragged"] = np_(MinibatchStdDev(4)(x[:6]))
    for kind, layer, xin in (("conv", keras.layers.Conv2D(5, 3, strides=2, padding="same"), x),
                             ("dense", keras.layers.Dense(7), x.reshape(len(x), -1))):
        sn = keras.layers.SpectralNormalization(layer)  # Table I's spectral norm (gan.spectral_norm)
        sn.build(xin.shape)
        layer.kernel.assign(inp[f"sn_{kind}_kernel"])
        layer.bias.assign(inp[f"sn_{kind}_bias"])
        sn.vector_u.assign(inp[f"sn_{kind}_u"])
        out[f"sn_{kind}"] = np_(sn(xin, training=True))
        out[f"sn_{kind}_u"] = np_(sn.vector_u)
    # the Table I (proposed, PacGAN pairs) and default (dcgan, BatchNorm D) models at 32 px with the same weights
    for kind in KINDS:
        cfg, g, d = kind_models(kind)
        for model, key in ((g, f"{kind}_g"), (d, f"{kind}_d")):
            n = int(inp[f"{key}_n"])
            model.set_weights([inp[f"{key}_w{i}"] for i in range(n)])
        out[f"{kind}_g_out"] = np_(g(inp["z"], training=False))
        pack = cfg.gan.pack if packable(kind) else 1
        out[f"{kind}_d_out"] = np_(d(pack_images(ops.convert_to_tensor(out[f"{kind}_g_out"]), pack), training=False))
    out["latent"] = sample_latent(4, [1, 2], 8, 3, 2)
    out["backend"] = np.array(keras.backend.backend())
    return out


KINDS = ("proposed", "dcgan")  # the models compared: Table I and the default kind


def kind_models(kind: str):
    """(config, generator, discriminator) of `kind` at 32 px with every other default."""
    from mri_gan.config import Config
    from mri_gan.gans.factory import build_models

    cfg = Config()
    cfg.gan.kind = kind
    return (cfg, *build_models(cfg.gan, 32, 0))


def inputs() -> dict:
    """The fixed inputs; weights of the models come from the caller (set_weights)."""
    r = np.random.default_rng(0)
    f = lambda *s: r.standard_normal(s).astype(np.float32)  # noqa: E731
    return {"real_logits": f(8, 1), "fake_logits": f(8, 1), "cat": np.eye(3, dtype=np.float32)[[0, 2, 1, 1]],
            "cat_logits": f(4, 3), "cont": f(4, 2), "cont_pred": f(4, 2), "critic_w": f(1, 16, 16, 1),
            "x": np.tanh(f(8, 16, 16, 1)), "y": np.tanh(f(8, 16, 16, 1)),
            "alpha": r.uniform(size=(8, 1, 1, 1)).astype(np.float32),
            "ty": r.integers(-3, 4, 8).astype(np.int32), "tx": r.integers(-3, 4, 8).astype(np.int32),
            "cy": r.integers(0, 17, (8, 1, 1)).astype(np.int32), "cx": r.integers(0, 17, (8, 1, 1)).astype(np.int32),
            "delta": f(8) * 0.3, "factor": r.uniform(0.5, 1.5, 8).astype(np.float32),
            "sn_conv_kernel": f(3, 3, 1, 5), "sn_conv_bias": f(5), "sn_conv_u": f(1, 5),
            "sn_dense_kernel": f(256, 7) * 0.1, "sn_dense_bias": f(7), "sn_dense_u": f(1, 7),
            "z": f(4, _latent_dim())}


def _latent_dim() -> int:
    from mri_gan.config import Config

    return Config().gan.latent_dim


if __name__ == "__main__":
    data = dict(np.load(sys.argv[1]))
    np.savez(sys.argv[2], **compute(data))
