"""Paths that had no test: the lazy CLI, mixed_float16 loss scaling, steps_per_execution with
sample grids, checkpoint_every, and exporting conditional / InfoGAN generators."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

TINY = ["gan.g_width=32", "gan.g_min_width=8", "gan.d_width=8", "gan.d_max_width=32", "gan.latent_dim=16",
        "train.batch_size=8", "train.sample_every=0", "train.sample_grid=2"]


def _cfg(*extra):
    from mri_gan.config import load_config

    return load_config(None, TINY + list(extra))


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["evaluate", "--help"]])
def test_help_does_not_import_tensorflow(argv):
    code = ("import sys\nfrom cli.main import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras', 'cv2', 'matplotlib') if m in sys.modules)\n"
            "print('HEAVY', ','.join(heavy))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Usage" in p.stdout
    assert p.stdout.strip().splitlines()[-1] == "HEAVY", p.stdout.splitlines()[-1]


def test_mixed_float16_gan_scales_its_losses():
    """Under mixed_float16 both optimizers are LossScaleOptimizers and the first Adam step moves
    G's weights by ~lr, as in float32: without `scale_loss` the float16 gradients are divided by
    the 2^15 loss scale (or underflow) and the step is a small fraction of lr."""
    import keras

    from mri_gan.gans.factory import build_gan

    steps = {}
    for policy in ("float32", "mixed_float16"):
        cfg = _cfg(f"train.precision={policy}", "gan.spectral_norm=false")
        keras.config.set_dtype_policy(policy)
        try:
            gan = build_gan(cfg, 16)
            before = [np.array(w) for w in gan.generator.trainable_weights]
            x = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32)
            logs = gan.train_on_batch(x, return_dict=True)
            after = [np.array(w) for w in gan.generator.trainable_weights]
        finally:
            keras.config.set_dtype_policy("float32")
        assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"]), (policy, logs)
        is_lso = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in (gan.g_optimizer, gan.d_optimizer)]
        assert is_lso == [policy == "mixed_float16"] * 2
        if policy == "mixed_float16":
            assert any(layer.compute_dtype == "float16" for layer in gan.generator.layers)
            assert gan.generator.output.dtype == "float32"  # images and losses stay float32
        assert int(gan.g_optimizer.iterations) == 1
        step = np.concatenate([np.abs(a - b).ravel() for a, b in zip(before, after)])
        steps[policy] = float(np.median(step)) / cfg.train.g_lr
    assert steps["float32"] > 0.5 and steps["mixed_float16"] > 0.5, steps


@pytest.mark.slow
def test_steps_per_execution_with_sample_grids(tmp_path, tiny_prep):
    """steps_per_execution=2 delivers batches in pairs: a grid every 3 batches then lands on the
    first delivered step past each 3rd (batch 4 of 6), the epoch-end grid still comes, and it
    shows the final generator on the fixed latents."""
    from mri_gan.data.pipeline import to_uint8
    from mri_gan.images import image_grid
    from mri_gan.gans.fit import run_fit
    from mri_gan.utils import read_jsonl

    run = tmp_path / "run"
    cfg = _cfg("train.batch_size=4", "gan.minibatch_std=2", "train.steps_per_execution=2", "train.sample_every=3")
    r = run_fit(tiny_prep, "glioma", run, cfg, epochs=2, verbose=0)  # 24 images / 4 = 6 steps
    gan = r["gan"]
    assert r["steps_per_epoch"] == 6 and int(gan.g_optimizer.iterations.numpy()) == 12
    names = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert names == ["epoch_0001.png", "epoch_0001_batch_00004.png", "epoch_0002.png", "epoch_0002_batch_00004.png"]
    assert [h["epoch"] for h in read_jsonl(run / "history.jsonl")] == [1, 2]
    import cv2

    z = gan.sample_latent(4, seed=[cfg.train.seed, 7])
    expected = image_grid(to_uint8(np.asarray(gan.generate(z))[..., 0]), 2)
    np.testing.assert_array_equal(cv2.imread(str(run / "samples" / "epoch_0002.png"), cv2.IMREAD_GRAYSCALE), expected)


@pytest.mark.slow
def test_checkpoint_every_two_epochs(tmp_path, tiny_prep):
    """checkpoint_every=2 over 3 epochs: checkpoints after epoch 2 and after the last (3), none
    after epoch 1; numbered by generator steps (3 per epoch), and resume starts from epoch 3."""
    import tensorflow as tf

    from mri_gan.gans.fit import run_fit

    run = tmp_path / "run"
    r = run_fit(tiny_prep, "glioma", run, _cfg("train.checkpoint_every=2", "train.keep_checkpoints=5"),
                epochs=3, verbose=0)
    state = tf.train.get_checkpoint_state(str(run / "checkpoints"))
    assert [Path(p).name for p in state.all_model_checkpoint_paths] == ["ckpt-6", "ckpt-9"]
    assert Path(r["checkpoint"]).name == "ckpt-9"
    again = run_fit(tiny_prep, "glioma", run, _cfg(), resume=True, epochs=3, verbose=0)
    assert again["start_epoch"] == 3 and again["seconds"] == 0.0


@pytest.mark.parametrize("kind", ["conditional", pytest.param("infogan", marks=pytest.mark.slow)])
def test_export_then_synthesize_from_the_export(tmp_path, tiny_prep, kind):
    """Conditional and InfoGAN generators: the export reloads (SavedModel and .keras) to the
    generator's outputs, and `synthesize` from the export writes the same images as from the run."""
    import cv2
    import tensorflow as tf

    from mri_gan.gans.export import export_run
    from mri_gan.gans.synthesis import load_generator, synthesize
    from mri_gan.gans.fit import run_fit

    extra = (["gan.kind=proposed", "gan.conditional=true"] if kind == "conditional"
             else ["gan.kind=infogan", "gan.info_categorical=3", "gan.info_continuous=1"])
    run = tmp_path / "run"
    run_fit(tiny_prep, "all" if kind == "conditional" else "glioma", run, _cfg(*extra), epochs=1, verbose=0)
    res = export_run(run, tmp_path / "export")
    assert res["roundtrip_max_abs_diff"] <= 1e-5
    gen = load_generator(run)
    z = gen.latent(4, [3])
    assert z.shape[1] == 16 + (4 if kind == "infogan" else 0)
    labels = np.array([0, 1, 2, 3]) if kind == "conditional" else None
    sm = tf.saved_model.load(str(tmp_path / "export" / "saved_model"))
    args = [tf.constant(z)] + ([tf.constant(labels.reshape(-1, 1), tf.int32)] if labels is not None else [])
    np.testing.assert_allclose(np.asarray(sm.serve(*args)), gen.generate(z, labels), atol=1e-5)
    if kind == "conditional":  # the label input matters
        other = [args[0], tf.constant(np.zeros((4, 1), np.int32))]
        assert not np.allclose(np.asarray(sm.serve(*other)), np.asarray(sm.serve(*args)), atol=1e-4)
    if kind == "infogan":  # so does the categorical code
        z2 = z.copy()
        z2[:, 16:19] = np.roll(z[:, 16:19], 1, axis=1)
        assert not np.allclose(np.asarray(sm.serve(tf.constant(z2))), np.asarray(sm.serve(args[0])), atol=1e-4)
    a = synthesize(run, tmp_path / "from_run", 3, seed=5)
    b = synthesize(tmp_path / "export", tmp_path / "from_export", 3, seed=5)
    assert a["classes"] == b["classes"] and a["files"] == b["files"] == 3 * len(a["classes"])
    for cls in a["classes"]:
        for i in range(3):
            name = f"{cls}/{cls}_{i:06d}.png"
            x = cv2.imread(str(tmp_path / "from_run" / name), cv2.IMREAD_GRAYSCALE)
            y = cv2.imread(str(tmp_path / "from_export" / name), cv2.IMREAD_GRAYSCALE)
            np.testing.assert_array_equal(x, y, err_msg=name)
