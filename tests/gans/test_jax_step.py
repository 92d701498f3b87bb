"""The JAX train step does what the TensorFlow one does: from the same weights, data
and random draws (tests/gans/step_probe.py replaces the backend-specific draws with a function
of the seed), two steps of five configurations (EMA + DiffAugment + lazy R1 every 2nd D update; WGAN-GP with n_critic 2 and
ADA; DCGAN's BatchNorm D with reuse_fakes and R1; InfoGAN; a conditional LSGAN) end with the same
losses, counters, ADA p and weight updates on both backends.

Known, tested-around differences: Keras' Adam on TF steps embedding rows that repeat in a batch
(an IndexedSlices gradient) further than the dense gradient says, JAX's gradient is dense: the
conditional configuration trains with SGD here; and the non-trainable D state after a penalty's extra D call (TF's call
updates BatchNorm statistics / the spectral-norm vector, JAX's does not: jax_step.py's docstring)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.jax_runner import needs_jax, run_jax

# slow (`pytest -m slow`, run by CI after the default suite): the JAX and TensorFlow steps of every kind compared (builds both backends' models)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    from tests.gans import step_probe

    tmp = tmp_path_factory.mktemp("step")
    tf_out = step_probe.compute(step_probe.data())
    inp = {**step_probe.data(), **{k: v for k, v in tf_out.items() if "/init/" in k}}
    np.savez(tmp / "in.npz", **inp)
    run_jax([step_probe.__file__, tmp / "in.npz", tmp / "out.npz"], timeout=500)
    return tf_out, dict(np.load(tmp / "out.npz"))


def _relative_update_error(tf_out, jax_out, name, key):
    names, trainable = tf_out[f"{name}/names/{key}"], tf_out[f"{name}/trainable/{key}"]
    num = den = 0.0
    for i, (path, tr) in enumerate(zip(names, trainable)):
        if not tr:
            continue
        w0 = tf_out[f"{name}/init/{key}/{i}"]
        da, db = tf_out[f"{name}/final/{key}/{i}"] - w0, jax_out[f"{name}/final/{key}/{i}"] - w0
        num += float(((da - db) ** 2).sum())
        den += float((da ** 2).sum())
    assert den > 0, f"{name} {key}: no update on TensorFlow"
    return (num / den) ** 0.5


@needs_jax
@pytest.mark.parametrize("name", ["proposed", "wgan_gp_ada", "dcgan_reuse_r1", "infogan", "conditional_lsgan"])
def test_jax_step_matches_tensorflow(steps, name):
    from tests.gans.step_probe import CONFIGS

    tf_out, jax_out = steps
    overrides, _ = CONFIGS[name]
    for k in ("g_steps", "d_steps"):
        assert int(tf_out[f"{name}/{k}"]) == int(jax_out[f"{name}/{k}"]), k
    assert int(jax_out[f"{name}/d_steps"]) == 2 * overrides.get("gan.n_critic", 1)
    np.testing.assert_allclose(jax_out[f"{name}/ada_p"], tf_out[f"{name}/ada_p"], atol=1e-7)
    if overrides.get("train.ada"):
        assert float(jax_out[f"{name}/ada_p"]) > 0  # target -1: p rises at every update
    logs = sorted(k for k in tf_out if k.startswith(f"{name}/log/"))
    assert logs == sorted(k for k in jax_out if k.startswith(f"{name}/log/"))
    for k in logs:
        np.testing.assert_allclose(jax_out[k], tf_out[k], atol=1e-4, err_msg=k)
    keys = ["generator", "discriminator", "ema"]  # EMA is on in every config (the default)
    for key in keys:
        assert _relative_update_error(tf_out, jax_out, name, key) < 0.01, key
