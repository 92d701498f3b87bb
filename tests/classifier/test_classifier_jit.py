"""`classifier.jit_compile: auto | true | false`: the classifier's steps are XLA-compiled exactly
when the setting resolves to true, XLA and the plain graph train the same arithmetic, the run
records the resolved choice, and a run continues under another machine's choice."""

from __future__ import annotations

import json

import pytest

from mri_gan.config import Config, load_config, load_saved


def _cfg(jit: str, epochs=(3,), seeds=1, augment=False) -> Config:
    cfg = load_config(None, [f"classifier.jit_compile={jit}", f"classifier.augment={str(augment).lower()}"])
    cfg.classifier.epochs = list(epochs)
    cfg.classifier.seeds = seeds
    return cfg


@pytest.fixture
def compiled(monkeypatch):
    """The `jit_compile` each Keras model.compile call received."""
    import keras

    seen = []
    real = keras.Model.compile

    def spy(self, *a, **k):
        seen.append(k.get("jit_compile", "auto"))
        return real(self, *a, **k)

    monkeypatch.setattr(keras.Model, "compile", spy)
    return seen


def test_xla_and_the_plain_graph_train_the_same_arithmetic(tiny_prep, tmp_path, compiled):
    from mri_gan.classifier.train import run_classify

    plain = run_classify(tiny_prep, tmp_path / "plain", _cfg("false"), verbose=0)
    xla = run_classify(tiny_prep, tmp_path / "xla", _cfg("true"), verbose=0)
    assert compiled == [False, True]
    for p, x in zip(plain["runs"], xla["runs"], strict=True):
        assert x["loss"] == pytest.approx(p["loss"], rel=1e-3)
        assert x["accuracy"] == pytest.approx(p["accuracy"])
    hist = {}
    for name in ("plain", "xla"):
        for line in (tmp_path / name / "history.jsonl").read_text().splitlines():
            h = json.loads(line)
            hist.setdefault(h["epoch"], []).append(h["loss"])
    for ep, (a, b) in hist.items():  # the training loss of every epoch, not only the scored ones
        assert b == pytest.approx(a, rel=1e-3), ep
    assert load_saved(tmp_path / "xla" / "config.yaml").classifier.jit_compile == "true"
    assert load_saved(tmp_path / "plain" / "config.yaml").classifier.jit_compile == "false"


@pytest.mark.parametrize("platform, onednn, augment, expected", [
    ("cpu", True, True, "false"),  # any CPU: the plain graph (XLA was no faster on the AVX2 EPYC)
    ("cpu", False, True, "false"),
    ("cpu", False, False, "false"),
    ("gpu", False, False, "true"),  # a GPU: XLA
])
def test_auto_records_this_machines_choice(tiny_prep, tmp_path, monkeypatch, compiled, platform, onednn, augment,
                                           expected):
    import mri_gan.precision
    from mri_gan.classifier.train import run_classify

    monkeypatch.setattr(mri_gan.precision, "_onednn", lambda: onednn)
    monkeypatch.setattr(mri_gan.precision, "accelerator", lambda: ("tensorflow", platform, "", None))
    run_classify(tiny_prep, tmp_path / "run", _cfg("auto", epochs=(1,), augment=augment), verbose=0)
    assert compiled == [expected == "true"]
    assert load_saved(tmp_path / "run" / "config.yaml").classifier.jit_compile == expected


def test_a_run_continues_under_another_choice(tiny_prep, tmp_path, compiled):
    from mri_gan.classifier.record import classifier_done, settings_differ
    from mri_gan.classifier.train import run_classify

    out = tmp_path / "run"
    run_classify(tiny_prep, out, _cfg("false", epochs=(1,)), verbose=0)
    assert classifier_done(out, _cfg("true", epochs=(1,))) and not settings_differ(out, _cfg("true", epochs=(1,)))
    res = run_classify(tiny_prep, out, _cfg("true", epochs=(1,), seeds=2), resume=True, verbose=0)
    assert res["seeds_done"] == [0, 1] and res["seeds_resumed"] == [0] and compiled == [False, True]
    other = _cfg("true", epochs=(1,), seeds=2)
    other.classifier.lr = 0.5  # any other setting still differs
    assert settings_differ(out, other).startswith("classifier.lr")
