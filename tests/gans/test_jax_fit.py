"""fit, exact resume, checkpoints, synthesize and export on the JAX backend, in one
child process (tests/gans/jax_fit_probe.py), and the refusal of another backend's checkpoints in
both directions."""

from __future__ import annotations

import pytest

from tests.jax_runner import needs_jax, result, run_jax

# slow (`pytest -m slow`, run by CI after the default suite): GAN runs on JAX in child processes
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    from mri_gan.gans.fit import run_fit
    from tests.conftest import make_prep
    from tests.gans import jax_fit_probe

    tmp = tmp_path_factory.mktemp("jaxfit")
    prep = make_prep(tmp / "tfprep", size=16, n_train=8, n_test=2, classes=["glioma"])
    run_fit(prep, "glioma", tmp / "tfrun", jax_fit_probe.tiny_cfg(), epochs=1, verbose=0)  # a TensorFlow run
    (tmp / "work").mkdir()
    res = result(run_jax([jax_fit_probe.__file__, tmp / "work", tmp / "tfrun"], timeout=600))
    return tmp, res


@needs_jax
def test_resume_on_jax_equals_straight(jax_run):
    _, r = jax_run
    assert r["steps_per_epoch"] == 2 and r["g_steps"] == 8 and r["keys"] > 40
    # target -1: each of the 4 updates adds batch * interval / speed unless r_t was exactly -1
    step = 8 * 2 / 20000
    assert 0 < r["ada_p"] <= 4 * step + 1e-7 and r["ada_p"] / step == pytest.approx(round(r["ada_p"] / step), abs=1e-4)
    assert r["split_start"] == 2 and r["interrupted"] and r["cut_start"] == [2, 1]
    for name in ("split", "cut"):  # every variable of the final checkpoint, bit for bit
        assert r[f"{name}_same_keys"] and r[f"{name}_max_diff"] == 0.0, name
    assert r["split_history"] == r["straight_history"]
    assert r["cut_history"][-1] == r["straight_history"][-1]  # epoch 3's line covers its resumed part only


@needs_jax
def test_synthesize_and_export_on_jax(jax_run):
    _, r = jax_run
    assert r["synth_files"] == 5 and r["synth_same_bytes"] and r["synth_other_seed_differs"]
    assert r["synth_checkpoint"].endswith("checkpoints/ckpt-8")
    assert r["best_checkpoint"].endswith("checkpoints/best/ckpt-1") and r["best_same_bytes_as_newest"]
    assert r["export_keras_only"] == [None, 0.0, False] and r["export_same_pixels"]
    assert not r["tensorflow_before_export"] and not r["tensorflow_after_keras_export"]
    ok, diff = r["export_saved_model"]
    assert ok and diff < 1e-5  # TensorFlow is installed here: the SavedModel too, via jax2tf


@needs_jax
def test_checkpoints_of_another_backend_are_refused(jax_run):
    from mri_gan.errors import MriGanError
    from mri_gan.gans.fit import run_fit
    from mri_gan.gans.synthesis import synthesize
    from tests.gans.jax_fit_probe import tiny_cfg

    tmp, r = jax_run
    for key in ("tf_run_refused", "tf_run_synth_refused"):
        msg = r[key]
        assert msg and "written by the tensorflow backend" in msg and "KERAS_BACKEND=tensorflow" in msg, key
        assert "\n" not in msg
    with pytest.raises(MriGanError, match=r"written by the jax backend .* runs tensorflow: continue .*KERAS_BACKEND=jax"):
        run_fit(None, None, tmp / "work" / "straight", tiny_cfg(), resume=True, verbose=0)
    with pytest.raises(MriGanError, match=r"written by the jax backend"):
        synthesize(tmp / "work" / "straight", tmp / "s_tf", n=2, seed=0)


def test_export_without_tensorflow_is_one_line(tmp_path, monkeypatch):
    import importlib.util

    from mri_gan.errors import MriGanError
    from mri_gan.gans.export import export_run

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a))
    with pytest.raises(MriGanError, match=r"needs TensorFlow installed .*--no-saved-model"):
        export_run(tmp_path / "run", tmp_path / "out")
