"""The backend-neutral pieces give the same numbers on TensorFlow and JAX: losses and
penalties, the deterministic parts of DiffAugment/ADA, PacGAN packing, the minibatch-stddev and
spectral-norm layers, the default generator and discriminator with the same weights, and the NumPy
latents. The JAX side runs in a subprocess (tests/gans/backend_probe.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.jax_runner import needs_jax, run_jax

# slow (`pytest -m slow`, run by CI after the default suite): the same models built and run on TensorFlow and JAX
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from tests.gans import backend_probe

    tmp = tmp_path_factory.mktemp("backends")
    inp = backend_probe.inputs()
    for kind in backend_probe.KINDS:
        _, g, d = backend_probe.kind_models(kind)
        for model, key in ((g, f"{kind}_g"), (d, f"{kind}_d")):
            w = model.get_weights()
            inp[f"{key}_n"] = np.array(len(w))
            inp.update({f"{key}_w{i}": a for i, a in enumerate(w)})
    np.savez(tmp / "in.npz", **inp)
    tf_out = backend_probe.compute(dict(np.load(tmp / "in.npz")))
    run_jax([backend_probe.__file__, tmp / "in.npz", tmp / "out.npz"], timeout=300)
    return tf_out, dict(np.load(tmp / "out.npz"))


@needs_jax
def test_same_outputs_on_tensorflow_and_jax(both):
    tf_out, jax_out = both
    assert (str(tf_out.pop("backend")), str(jax_out.pop("backend"))) == ("tensorflow", "jax")
    assert set(tf_out) == set(jax_out)
    exact = {"shift", "cut", "ada_p0", "pack", "latent"}  # pure indexing / NumPy: bit-identical
    for key in sorted(tf_out):
        a, b = np.asarray(tf_out[key]), np.asarray(jax_out[key])
        assert a.shape == b.shape, key
        if key in exact:
            np.testing.assert_array_equal(a, b, err_msg=key)
        else:
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5, err_msg=key)


@needs_jax
def test_probe_is_not_trivial(both):
    """The compared values can fail: augmentations change images, the penalties are non-zero."""
    tf_out, _ = both
    assert float(tf_out["gp"]) > 0 and float(tf_out["r1"]) > 0
    assert not np.allclose(tf_out["shift"], tf_out["cut"])
    assert tf_out["mbstd"].shape[-1] == 2 and tf_out["pack"].shape == (4, 16, 16, 2)
    from tests.gans import backend_probe

    assert not np.allclose(tf_out["sn_conv_u"], backend_probe.inputs()["sn_conv_u"])  # training=True moved u
