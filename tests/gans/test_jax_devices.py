"""Several JAX devices: `keras.distribution.DataParallel` over 2 host devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2, in a fresh process) against one device, as
tests/gans/test_distribute.py does for MirroredStrategy. The JAX step sees the global batch on
both, so the losses, ADA p and weights agree up to float reduction order. Marked slow (95 s on the
2-core EPYC), as test_distribute.py's multi-replica runs are: `pytest -m slow` runs it."""

from __future__ import annotations

import textwrap

import pytest

from tests.jax_runner import jax_env, needs_jax, result, run_jax

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import jax
    from mri_gan.config import Config
    from mri_gan.gans.fit import run_fit
    from mri_gan.utils import read_jsonl

    prep, out = sys.argv[1], sys.argv[2]
    res = {"devices": len(jax.devices())}
    for strategy in ("mirrored", "default"):
        cfg = Config()
        g = cfg.gan
        g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 32, 8, 8, 32, 16
        cfg.train.batch_size, cfg.train.sample_every, cfg.train.eval_every, cfg.train.strategy = 16, 0, 0, strategy
        cfg.train.ema, cfg.train.ada, cfg.train.ada_interval, cfg.train.ada_target = 0.9, True, 2, -1.0
        r = run_fit(prep, "all", f"{out}/{strategy}", cfg, epochs=2, verbose=0)
        gan = r["gan"]
        w = np.concatenate([np.ravel(np.asarray(v)) for v in gan.generator.trainable_weights])
        res[strategy] = {"replicas": r["replicas"], "history": read_jsonl(f"{out}/{strategy}/history.jsonl"),
                         "g_steps": int(np.asarray(gan.g_optimizer.iterations)), "ada_p": float(np.asarray(gan.ada_p)),
                         "g_weights": w[:2000].tolist(),
                         "sharding": str(gan.generator.trainable_weights[0].value.sharding)}
    print("RESULT " + json.dumps(res))
""")


@pytest.mark.slow
@needs_jax
def test_two_jax_devices_match_one(tmp_path, tiny_prep):
    env = jax_env(XLA_FLAGS="--xla_force_host_platform_device_count=2")
    res = result(run_jax(["-c", SCRIPT, tiny_prep, tmp_path], env=env, timeout=500))
    two, one = res["mirrored"], res["default"]
    assert res["devices"] == 2 and two["replicas"] == 2 and one["replicas"] == 1
    assert "NamedSharding" in two["sharding"] and "NamedSharding" not in one["sharding"]
    assert two["g_steps"] == one["g_steps"] == 12  # 96 images / global batch 16, 2 epochs
    assert [h["epoch"] for h in two["history"]] == [h["epoch"] for h in one["history"]] == [1, 2]
    for a, b in zip(two["history"], one["history"], strict=True):
        for k in ("d_loss", "g_loss", "d_real", "d_fake", "ada_p"):
            assert a[k] == pytest.approx(b[k], rel=1e-3, abs=1e-4), (a["epoch"], k)
    assert two["ada_p"] == pytest.approx(one["ada_p"], abs=1e-7)
    import numpy as np

    np.testing.assert_allclose(two["g_weights"], one["g_weights"], atol=2e-4)
