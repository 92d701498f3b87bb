"""The conditional form of the default kind (dcgan, `gan.conditional: true`): class-conditional
BatchNorm in G and a projection D, each label acting only through its own embedding rows; quality
measured per class with the best snapshot chosen by the worst class; exact resume on the XLA
TensorFlow step and on JAX; synthesize and export by class."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.utils import read_json, read_jsonl
from tests.gans.test_interrupt_resume import InterruptAt
from tests.jax_runner import needs_jax, result, run_jax

CLASSES = ["glioma", "notumor"]


def tiny_cfg(**train) -> Config:
    """The defaults (dcgan, XLA steps, lazy R1 every 16 D updates, EMA, reused fakes), tiny and conditional."""
    cfg = Config()
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 16, 8, 8, 16, 8
    g.conditional = True
    t = cfg.train
    t.batch_size, t.sample_every, t.sample_grid, t.eval_every = 4, 0, 2, 0
    for k, v in train.items():
        setattr(t, k, v)
    return cfg


@pytest.fixture
def prep16(tiny_prep_factory):
    return tiny_prep_factory(size=16, n_train=12, n_test=2, classes=CLASSES)  # 24 images: 6 batches of 4


def _models(kind: str = "dcgan", num_classes: int = 3):
    from mri_gan.gans.factory import build_models

    cfg = tiny_cfg()
    cfg.gan.kind = kind
    keras.utils.set_random_seed(0)
    return build_models(cfg.gan, 16, num_classes)


def _inputs(n: int = 6, num_classes: int = 3):
    r = np.random.default_rng(0)
    x = np.tanh(r.standard_normal((n, 16, 16, 1))).astype(np.float32)
    z = r.standard_normal((n, 8)).astype(np.float32)
    y = (np.arange(n) % num_classes).astype(np.int32).reshape(-1, 1)
    return x, z, y


# -- the models --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, features", [("dcgan", "features_flat"), ("proposed", "flatten")])
def test_projection_term_is_the_label_rows_inner_product_with_the_features(kind, features):
    """logit(x, y) = psi(phi(x)) + <E[y], phi(x)>: the term computed by hand from phi(x) and the
    embedding equals D's; zeroing class 1's row changes class 1's logits only (the same code serves
    the DCGAN and the Table I discriminators)."""
    _, d = _models(kind)
    x, _, y = _inputs()
    emb = d.get_layer("label_embedding")
    table = np.random.default_rng(1).normal(0, 0.5, emb.get_weights()[0].shape).astype(np.float32)
    emb.set_weights([table])
    logit = np.asarray(d([x, y], training=False))
    phi = np.asarray(keras.Model(d.inputs[0], d.get_layer(features).output)(x, training=False))
    assert phi.shape == (6, table.shape[1])
    emb.set_weights([np.zeros_like(table)])
    psi = np.asarray(d([x, y], training=False))  # without the class term
    by_hand = (table[y[:, 0]] * phi).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logit - psi, by_hand, rtol=1e-4, atol=1e-5)
    assert np.abs(by_hand).max() > 1e-3  # the term is not trivially 0

    one_zeroed = table.copy()
    one_zeroed[1] = 0.0
    emb.set_weights([one_zeroed])
    changed = np.asarray(d([x, y], training=False))
    mine = y[:, 0] == 1
    np.testing.assert_array_equal(changed[~mine], logit[~mine])
    assert np.all(np.abs(changed[mine] - logit[mine]) > 1e-6)


def test_generator_batchnorm_is_conditioned_on_the_label_rows_only():
    """Every BatchNorm of the conditional DCGAN G is normalized(h) * gamma[y] + beta[y] (checked by
    hand on the first one); changing class 1's gamma and beta rows changes class 1's images only,
    and the label enters G nowhere else."""
    g, _ = _models()
    _, z, y = _inputs()
    names = [layer.name for layer in g.layers]
    assert "z_label" not in names and {"project_bn_gamma", "project_bn_beta", "up1_bn_gamma", "up1_bn_beta"} <= set(names)
    bn = g.get_layer("project_bn")
    assert not bn.center and not bn.scale  # the affine part is the label's
    r = np.random.default_rng(2)
    for layer in g.layers:
        if isinstance(layer, keras.layers.Embedding):
            w = layer.get_weights()[0]
            layer.set_weights([(1.0 if layer.name.endswith("_gamma") else 0.0) + r.normal(0, 0.3, w.shape).astype(np.float32)])
    probe = keras.Model(g.inputs, [g.get_layer("project_bn").output, g.get_layer("project_bn_shift").output])
    normed, shifted = (np.asarray(t) for t in probe([z, y], training=False))
    gamma, beta = (g.get_layer(f"project_bn_{p}").get_weights()[0][y[:, 0]][:, None, None, :] for p in ("gamma", "beta"))
    np.testing.assert_allclose(shifted, normed * gamma + beta, rtol=1e-5, atol=1e-6)

    before = np.asarray(g([z, y], training=False))
    for layer in g.layers:
        if isinstance(layer, keras.layers.Embedding):
            w = layer.get_weights()[0]
            w[1] = 0.5
            layer.set_weights([w])
    after = np.asarray(g([z, y], training=False))
    mine = y[:, 0] == 1
    np.testing.assert_array_equal(after[~mine], before[~mine])
    assert np.abs(after[mine] - before[mine]).max() > 1e-4


def test_conditional_models_round_trip_as_keras_files(tmp_path):
    g, d = _models()
    x, z, y = _inputs()
    for model, inputs in ((g, [z, y]), (d, [x, y])):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        again = keras.models.load_model(path, safe_mode=True, compile=False)
        np.testing.assert_array_equal(np.asarray(again(inputs, training=False)), np.asarray(model(inputs, training=False)))


def test_only_infogan_has_no_conditional_form():
    from mri_gan.errors import MriGanError
    from mri_gan.gans.factory import CONDITIONAL_KINDS, resolve_kind

    assert "dcgan" in CONDITIONAL_KINDS and Config().gan.kind == "dcgan"
    cfg = tiny_cfg()
    cfg.gan.kind = "infogan"
    with pytest.raises(MriGanError, match="gan.conditional works with kinds proposed, dcgan, lsgan, wgan_gp, not 'infogan'"):
        resolve_kind(cfg.gan, 2)


# -- quality per class, best by the worst class ----------------------------------------------

class _Gan:
    """Stands in for the GAN: each fake's pixels are its label (0 without one)."""

    def sample_latent(self, n, seed):
        return np.zeros((n, 4), np.float32)

    def generate(self, z, labels=None):
        value = np.zeros(len(z)) if labels is None else np.asarray(labels, np.float32)
        return np.broadcast_to(value[:, None, None, None] / 10.0, (len(z), 8, 8, 1)).copy()


class _Probe:
    """A scripted QualityProbe: one KID per measurement; records the fakes it was given."""

    def __init__(self, kids, real=None):
        self.kids, self.real, self.fakes = list(kids), real, []

    def measure(self, fake_uint8):
        self.fakes.append(np.array(fake_uint8))
        return {"n_fake": len(fake_uint8), "n_real": len(fake_uint8), "kid": self.kids[len(self.fakes) - 1],
                "ms_ssim_ratio": 1.0}


# per measurement: glioma, notumor KID. By the mean the first is best; by the worst class the second.
KIDS = {"glioma": [0.01, 0.10, 0.30], "notumor": [0.20, 0.12, 0.02]}


def test_monitor_measures_each_class_and_keeps_the_best_worst_class(tmp_path, monkeypatch):
    from mri_gan.gans import checkpoint
    from mri_gan.gans.monitor import MonitorPlan, QualityMonitor, early_stop_reason, snapshot_score

    saved = []
    monkeypatch.setattr(checkpoint, "save_generators", lambda gan, d: saved.append(len(saved)))
    probes = [_Probe(KIDS[c]) for c in CLASSES]
    plan = MonitorPlan(every_kimg=1, images_per_epoch=1000, n=5, seed=0, num_classes=2, class_names=tuple(CLASSES),
                       best_by="kid")
    mon = QualityMonitor(_Gan(), lambda: probes, plan, tmp_path)
    for epoch in range(3):
        mon.on_epoch_end(epoch, {})
    for c, probe in enumerate(probes):  # each class's probe measured that class's fakes
        assert [f.shape for f in probe.fakes] == [(5, 8, 8)] * 3
        assert np.all(probe.fakes[0] == np.round((c / 10.0 + 1.0) * 127.5))
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["worst_class"] for r in rows] == ["notumor", "notumor", "glioma"]
    assert [r["kid"] for r in rows] == [0.20, 0.12, 0.30]  # the top level is the worst class's
    assert [[r["classes"][c]["kid"] for c in CLASSES] for r in rows] == [list(k) for k in zip(*KIDS.values())]
    assert [r["best"] for r in rows] == [True, True, False] and len(saved) == 2
    assert read_json(tmp_path / "checkpoints" / "best" / "best.json")["epoch"] == 2
    # the score is the worst class's whatever the top level says (e.g. a row written under another best_by)
    assert snapshot_score(dict(rows[1], kid=0.0), "kid") == (-0.12,)
    assert "worst class notumor: KID 0.12 at kimg 2.0" in early_stop_reason(rows, 1, "kid")
    # a resumed monitor starts from the saved snapshot's worst class
    assert QualityMonitor(_Gan(), None, plan, tmp_path, start_epoch=3).best_score == (-0.12,)


def test_conditional_fit_writes_per_class_quality_lines(tmp_path, prep16, monkeypatch):
    """A conditional DCGAN trains on the tiny fixture; each class's probe is built from that class's
    training images, and metrics.jsonl holds every class and the worst one per measurement."""
    import mri_gan.metrics.quality as quality
    from mri_gan.data.pipeline import list_split, load_uint8
    from mri_gan.gans.fit import run_fit
    from mri_gan.gans.synthesis import load_generator

    probes = []

    def make_probe(real, feature_fn, eval_cfg, n):
        probes.append(_Probe(KIDS[CLASSES[len(probes)]], real))
        return probes[-1]

    monkeypatch.setattr(quality, "QualityProbe", make_probe)
    monkeypatch.setattr("mri_gan.metrics.features.get_extractor", lambda *a, **k: None)
    cfg = tiny_cfg(eval_every=0.024, eval_n=8, best_by="kid", jit_compile=False)  # a measurement every epoch
    r = run_fit(prep16, None, tmp_path / "run", cfg, epochs=3, verbose=0)
    assert r["gan"].settings.num_classes == 2 and r["kind"] == "dcgan"
    for name, probe in zip(CLASSES, probes):
        np.testing.assert_array_equal(np.sort(probe.real, axis=0),
                                      np.sort(load_uint8(list_split(prep16, "train", [name])[0]), axis=0))
        assert [len(f) for f in probe.fakes] == [8, 8, 8]
    rows = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    assert [sorted(row["classes"]) for row in rows] == [CLASSES] * 3
    assert [row["worst_class"] for row in rows] == ["notumor", "notumor", "glioma"]
    assert [row["best"] for row in rows] == [True, True, False]
    assert read_json(tmp_path / "run" / "checkpoints" / "best" / "best.json")["epoch"] == 2
    assert load_generator(tmp_path / "run").checkpoint.startswith(str(tmp_path / "run" / "checkpoints" / "best"))


# -- exact resume ---------------------------------------------------------------------------

def _state(gan):
    ws = [np.array(w) for m in (gan.generator, gan.discriminator, gan.ema_generator) for w in m.weights]
    return ws + [np.array(gan.g_optimizer.iterations), np.array(gan.d_optimizer.iterations),
                 np.array(gan.seed_generator.state)]


@pytest.mark.parametrize("jit", [False, pytest.param(True, marks=pytest.mark.slow)])  # XLA: ~30 s
def test_ctrl_c_then_resume_equals_straight_on_tensorflow(tmp_path, prep16, jit):
    """Conditional, on the plain graph and on the defaults' XLA step (phase-form convolutions,
    R1's step a plain graph): Ctrl-C inside epoch 2, then resume, ends bit-equal to an
    uninterrupted run."""
    from mri_gan.gans.fit import run_fit

    straight = run_fit(prep16, None, tmp_path / "a", tiny_cfg(jit_compile=jit), epochs=2, verbose=0)
    gan = straight["gan"]
    assert gan.settings.jit == jit and gan.settings.num_classes == 2 and gan.d_has_batchnorm
    with pytest.raises(KeyboardInterrupt):
        run_fit(prep16, None, tmp_path / "b", tiny_cfg(jit_compile=jit), epochs=2, verbose=0,
                extra_callbacks=[InterruptAt(1, 2)])
    resumed = run_fit(None, None, tmp_path / "b", tiny_cfg(jit_compile=jit), resume=True, epochs=2, verbose=0)
    assert (resumed["start_epoch"], resumed["start_batch"]) == (1, 3)
    a, b = _state(gan), _state(resumed["gan"])
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


_JAX_CHILD = r"""
import json, sys
from pathlib import Path
import numpy as np
from mri_gan.gans.fit import run_fit
from tests.conftest import make_prep
from tests.gans.jax_fit_probe import Interrupt, arrays
from tests.gans.test_conditional_dcgan import tiny_cfg

work = Path(sys.argv[1])
prep = make_prep(work / "prep", size=16, n_train=12, n_test=2, classes=["glioma", "notumor"])
straight = run_fit(prep, None, work / "a", tiny_cfg(), epochs=2, verbose=0)
try:
    run_fit(prep, None, work / "b", tiny_cfg(), epochs=2, verbose=0, extra_callbacks=[Interrupt(1, 2)])
    interrupted = False
except KeyboardInterrupt:
    interrupted = True
resumed = run_fit(None, None, work / "b", tiny_cfg(), resume=True, epochs=2, verbose=0)
a, b = arrays(work / "a"), arrays(work / "b")
print("RESULT " + json.dumps({
    "interrupted": interrupted, "start": [resumed["start_epoch"], resumed["start_batch"]],
    "classes": straight["gan"].settings.num_classes, "keys": len(a), "same_keys": sorted(a) == sorted(b),
    "max_diff": max(float(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max()) for k in a if k in b)}))
"""


@needs_jax
@pytest.mark.slow  # a fresh JAX process, three runs: ~60 s
def test_ctrl_c_then_resume_equals_straight_on_jax(tmp_path):
    r = result(run_jax(["-c", _JAX_CHILD, tmp_path], timeout=600))
    assert r["interrupted"] and r["start"] == [1, 3] and r["classes"] == 2
    assert r["same_keys"] and r["keys"] > 30 and r["max_diff"] == 0.0


# R1 off: through a BatchNorm D, R1's second-order gradient differs between the backends at float
# rounding, and SGD (which the probe uses for conditional GANs) passes that on unscaled
# (`dcgan_reuse_r1` in tests/gans/step_probe.py covers R1 with a BatchNorm D)
STEP_CONFIG = ({"gan.kind": "dcgan", "train.ema": 0.5, "gan.r1_gamma": 0.0}, True)
_STEP_CHILD = r"""
import sys
import numpy as np
from tests.gans import step_probe
from tests.gans.test_conditional_dcgan import STEP_CONFIG

step_probe.CONFIGS["conditional_dcgan"] = STEP_CONFIG
np.savez(sys.argv[2], **step_probe.compute(dict(np.load(sys.argv[1])), ["conditional_dcgan"]))
"""


@needs_jax
@pytest.mark.slow  # a fresh JAX process: ~40 s
def test_jax_step_matches_tensorflow(tmp_path, monkeypatch):
    """Two steps of the conditional DCGAN from the same weights, data and draws end with the same
    losses and weight updates on JAX as on TensorFlow (tests/gans/step_probe.py)."""
    from mri_gan.gans import rng
    from tests.gans import step_probe
    from tests.gans.test_jax_step import _relative_update_error

    for name in ("normal", "uniform", "split"):  # the probe replaces the draws: undone after the test
        monkeypatch.setattr(rng, name, getattr(rng, name))
    monkeypatch.setitem(step_probe.CONFIGS, "conditional_dcgan", STEP_CONFIG)
    tf_out = step_probe.compute(step_probe.data(), ["conditional_dcgan"])
    np.savez(tmp_path / "in.npz", **step_probe.data(), **{k: v for k, v in tf_out.items() if "/init/" in k})
    run_jax(["-c", _STEP_CHILD, tmp_path / "in.npz", tmp_path / "out.npz"], timeout=500)
    jax_out = dict(np.load(tmp_path / "out.npz"))
    logs = sorted(k for k in tf_out if "/log/" in k)
    assert logs and logs == sorted(k for k in jax_out if "/log/" in k)
    for k in logs:
        np.testing.assert_allclose(jax_out[k], tf_out[k], atol=1e-4, err_msg=k)
    for key in ("generator", "discriminator", "ema"):
        assert _relative_update_error(tf_out, jax_out, "conditional_dcgan", key) < 1e-3, key


# -- synthesize and export by class ---------------------------------------------------------

def test_synthesize_classes_and_export_takes_a_label(tmp_path, prep16):
    """synthesize writes every class, or the chosen ones; the exported SavedModel, given (z, label),
    and the exported .keras reproduce synthesize's images of that class pixel for pixel."""
    import tensorflow as tf
    from click.testing import CliRunner
    from PIL import Image

    from cli.main import cli
    from mri_gan.gans.export import export_run
    from mri_gan.gans.fit import run_fit
    from mri_gan.gans.sampling import sample_latent
    from mri_gan.gans.synthesis import synthesize

    run = tmp_path / "run"
    run_fit(prep16, None, run, tiny_cfg(jit_compile=False), epochs=1, verbose=0)
    r = synthesize(run, tmp_path / "all", n=3, seed=5)
    assert r["classes"] == CLASSES and r["files"] == 6
    r = CliRunner().invoke(cli, ["synthesize", str(run), "--out", str(tmp_path / "one"), "--n", "3", "--seed", "5",
                                 "--classes", "notumor"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["manifest.csv", "notumor"]

    def pixels(d, name):
        return np.stack([np.asarray(Image.open(d / name / f"{name}_{i:06d}.png")) for i in range(3)])

    np.testing.assert_array_equal(pixels(tmp_path / "one", "notumor"), pixels(tmp_path / "all", "notumor"))
    assert not np.array_equal(pixels(tmp_path / "all", "notumor"), pixels(tmp_path / "all", "glioma"))

    ex = export_run(run, tmp_path / "ex")
    assert ex["roundtrip_max_abs_diff"] == 0.0
    sm = tf.saved_model.load(ex["saved_model"])
    for label, name in enumerate(CLASSES):
        z = sample_latent(3, [5, label + 1], 8)  # synthesize's latents of this class
        images = np.asarray(sm.serve_uint8(tf.constant(z), tf.constant(np.full((3, 1), label), tf.int32)))[..., 0]
        np.testing.assert_array_equal(images, pixels(tmp_path / "all", name))
    synthesize(tmp_path / "ex", tmp_path / "from-export", n=3, seed=5, class_name=["notumor"])
    np.testing.assert_array_equal(pixels(tmp_path / "from-export", "notumor"), pixels(tmp_path / "all", "notumor"))
    meta = json.loads((tmp_path / "ex" / "export.json").read_text())
    assert meta["conditional"] and meta["kind"] == "dcgan" and meta["class_names"] == CLASSES
