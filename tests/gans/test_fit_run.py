"""`run_fit` end to end at 32 px: run dir layout, exact resume, NaN stop, synthesize, export."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.errors import MriGanError
from mri_gan.utils import read_json, read_jsonl


def tiny_cfg() -> Config:
    cfg = Config()
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 32, 8, 8, 32, 16
    t = cfg.train
    t.batch_size, t.sample_every, t.sample_grid = 8, 2, 4
    return cfg


def _weights(gan):
    return [np.array(w) for m in (gan.generator, gan.discriminator) for w in m.weights]


@pytest.mark.slow
def test_resume_equals_straight(tmp_path, tiny_prep):
    """2 epochs + resume to 4 == 4 straight: losses, weights, EMA and ADA state (CPU, fixed seeds)."""
    from mri_gan.gans.fit import run_fit

    def cfg():
        c = tiny_cfg()
        c.train.ema, c.train.ada, c.train.ada_interval, c.train.ada_target = 0.9, True, 1, 0.0
        return c

    straight = run_fit(tiny_prep, "glioma", tmp_path / "a", cfg(), epochs=4, verbose=0)
    first = run_fit(tiny_prep, "glioma", tmp_path / "b", cfg(), epochs=2, verbose=0)
    assert first["start_epoch"] == 0
    resumed = run_fit(None, None, tmp_path / "b", cfg(), resume=True, epochs=4, verbose=0)
    assert resumed["start_epoch"] == 2
    ha, hb = read_jsonl(tmp_path / "a" / "history.jsonl"), read_jsonl(tmp_path / "b" / "history.jsonl")
    assert [r["epoch"] for r in hb] == [1, 2, 3, 4]
    for ra, rb in zip(ha, hb):
        for k in ("d_loss", "g_loss", "d_real", "d_fake", "ada_p"):
            assert ra[k] == pytest.approx(rb[k], abs=1e-6), (ra["epoch"], k)
    ga, gb = straight["gan"], resumed["gan"]
    for a, b in zip(_weights(ga), _weights(gb)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(ga.ema_generator.weights, gb.ema_generator.weights):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-6)
    assert float(ga.ada_p.numpy()) == pytest.approx(float(gb.ada_p.numpy()), abs=1e-7)
    assert int(ga.d_optimizer.iterations) == int(gb.d_optimizer.iterations) == 12
    # re-running a finished run into the same dir is a no-op
    again = run_fit(tiny_prep, "glioma", tmp_path / "b", cfg(), epochs=4, verbose=0)
    assert again["start_epoch"] == 4 and "gan" not in again


@pytest.mark.slow
def test_run_dir_nan_stop_synthesize_export(tmp_path, tiny_prep, monkeypatch):
    import keras
    import tensorflow as tf
    from PIL import Image

    from mri_gan.gans.export import export_run
    from mri_gan.gans import factory
    from mri_gan.gans.synthesis import synthesize
    from mri_gan.gans.fit import run_fit

    run = tmp_path / "run"
    r = run_fit(tiny_prep, "tumor", run, tiny_cfg(), epochs=1, verbose=0)
    assert r["images"] == 72 and r["steps_per_epoch"] == 9
    info = read_json(run / "run.json")
    assert info["classes"] == ["glioma", "meningioma", "pituitary"] and info["class"] == "tumor" and info["size"] == 32
    assert (run / "config.yaml").is_file() and list((run / "tensorboard").glob("events.*"))
    (rec,) = read_jsonl(run / "history.jsonl")
    assert set(rec) >= {"epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds", "images_per_second"}
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert "epoch_0001.png" in samples and "epoch_0001_batch_00002.png" in samples and len(samples) == 5
    good = tf.train.latest_checkpoint(str(run / "checkpoints"))

    # a NaN loss in epoch 2 stops with one line naming epoch and batch; the good checkpoint stays
    real_build = factory.build_gan

    def nan_build(*a, **k):
        gan = real_build(*a, **k)
        gan.d_loss_fn = lambda real, fake: tf.reduce_mean(real) * float("nan")
        return gan

    monkeypatch.setattr(factory, "build_gan", nan_build)
    with pytest.raises(MriGanError, match=r"non-finite d_loss=nan at epoch 2 batch 1: .*last good checkpoint: .*ckpt-9"):
        run_fit(tiny_prep, "tumor", run, tiny_cfg(), epochs=2, verbose=0)
    monkeypatch.setattr(factory, "build_gan", real_build)
    assert tf.train.latest_checkpoint(str(run / "checkpoints")) == good
    assert len(read_jsonl(run / "history.jsonl")) == 1

    # synthesize: determinism, manifest, text chunk, refusal of a non-empty dir
    s1 = synthesize(run, tmp_path / "s1", n=5, seed=3, batch_size=2)
    synthesize(run, tmp_path / "s2", n=5, seed=3, batch_size=2)
    synthesize(run, tmp_path / "s3", n=5, seed=4, batch_size=2)
    assert s1["files"] == 5 and s1["checkpoint"] == good
    f1 = sorted((tmp_path / "s1" / "tumor").glob("*.png"))
    assert [p.name for p in f1] == [f"tumor_{i:06d}.png" for i in range(5)]
    for p in f1:
        assert p.read_bytes() == (tmp_path / "s2" / "tumor" / p.name).read_bytes()
    assert f1[0].read_bytes() != (tmp_path / "s3" / "tumor" / "tumor_000000.png").read_bytes()
    with Image.open(f1[0]) as im:
        assert im.mode == "L" and im.size == (32, 32)
        assert im.text["Software"] == "mri-gan" and im.text["Comment"].startswith("synthetic image from ")
    rows = list(csv.DictReader(open(tmp_path / "s1" / "manifest.csv")))
    assert list(rows[0]) == ["file", "class", "seed", "index", "checkpoint", "checkpoint_sha256", "created_at"]
    assert [r["file"] for r in rows] == [f"tumor/tumor_{i:06d}.png" for i in range(5)]
    assert rows[0]["seed"] == "3" and len(rows[0]["checkpoint_sha256"]) == 64
    with pytest.raises(MriGanError, match="not empty"):
        synthesize(run, tmp_path / "s1", n=5, seed=3)
    with pytest.raises(MriGanError, match="trained on 'tumor' only"):
        synthesize(run, tmp_path / "s4", n=1, class_name="glioma")

    # export: .keras (safe_mode) and SavedModel reproduce the generator; synthesize from the export
    e = export_run(run, tmp_path / "exp")
    assert e["roundtrip_max_abs_diff"] == 0.0
    z = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
    model = keras.models.load_model(tmp_path / "exp" / "generator.keras", safe_mode=True)
    sm = tf.saved_model.load(str(tmp_path / "exp" / "saved_model"))
    ref = np.asarray(model(z, training=False))
    np.testing.assert_array_equal(ref, np.asarray(sm.serve(tf.constant(z))))
    u8 = np.asarray(sm.serve_uint8(tf.constant(z)))
    assert u8.dtype == np.uint8 and np.abs(u8.astype(int) - np.rint((ref + 1) * 127.5)).max() <= 1
    synthesize(tmp_path / "exp", tmp_path / "s5", n=5, seed=3, batch_size=2)
    for p in f1:  # same pixels as from the checkpoint (the text chunk names a different source)
        a = np.asarray(Image.open(p))
        b = np.asarray(Image.open(tmp_path / "s5" / "tumor" / p.name))
        np.testing.assert_array_equal(a, b)


def test_conditional_fit_synthesize_class(tmp_path, tiny_prep):
    from mri_gan.gans.synthesis import synthesize
    from mri_gan.gans.fit import run_fit

    cfg = tiny_cfg()
    cfg.gan.kind, cfg.gan.conditional = "proposed", True  # the Table I conditional (label embedding in G)
    cfg.train.sample_every = 0
    run_fit(tiny_prep, None, tmp_path / "c", cfg, epochs=1, verbose=0)
    assert read_json(tmp_path / "c" / "run.json")["class_names"] == ["glioma", "meningioma", "notumor", "pituitary"]
    r = synthesize(tmp_path / "c", tmp_path / "sc", n=2, seed=0, class_name="pituitary")
    assert r["classes"] == ["pituitary"] and sorted(p.name for p in (tmp_path / "sc").iterdir()) == ["manifest.csv", "pituitary"]
    r = synthesize(tmp_path / "c", tmp_path / "sa", n=2, seed=0)
    assert r["files"] == 8
    with pytest.raises(MriGanError, match="unknown class"):
        synthesize(tmp_path / "c", tmp_path / "sb", n=2, class_name="dog")
