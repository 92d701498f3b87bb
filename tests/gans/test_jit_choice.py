"""`train.jit_compile: auto | true | false`: the config reads YAML booleans and strings alike, `auto`
picks the plain graph exactly where TensorFlow runs its CPU kernels with oneDNN, and `fit` saves
the value it resolved (a run continues under another machine's choice: same arithmetic)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from mri_gan.config import load_config, load_saved
from mri_gan.errors import MriGanError
from mri_gan import precision


@pytest.mark.parametrize("text, expected", [("true", "true"), ("false", "false"), ("auto", "auto"),
                                            ("True", "true"), ("no", "false")])
def test_yaml_booleans_and_strings_read_as_the_three_choices(tmp_path, text, expected):
    p = tmp_path / "c.yaml"
    p.write_text(f"train:\n  jit_compile: {text}\n")  # YAML 1.1: true/True/no are booleans
    assert load_config(p, []).train.jit_compile == expected
    assert load_config(None, [f"train.jit_compile={text.lower()}"]).train.jit_compile == (
        expected if text.lower() in ("true", "false", "auto") else "false")


def test_the_default_is_auto():
    assert load_config(None, []).train.jit_compile == "auto"


@pytest.mark.parametrize("onednn, platform, expected", [
    (True, "cpu", "false"),  # oneDNN kernels: the plain graph
    (False, "cpu", "true"),  # Eigen kernels (e.g. an AVX2-only CPU): XLA
    (True, "gpu", "true"),
    (False, "gpu", "true"),
])
def test_auto_compiles_unless_tensorflow_uses_onednn_on_a_cpu(monkeypatch, onednn, platform, expected):
    monkeypatch.setattr(precision, "_onednn", lambda: onednn)
    monkeypatch.setattr(precision, "accelerator", lambda: ("tensorflow", platform, "", None))
    assert precision.resolve_jit("auto", "train.jit_compile") == expected
    assert precision.resolve_jit("true", "k") == "true" and precision.resolve_jit(False, "k") == "false"
    # a model XLA does not speed up on a CPU (cpu_xla false) keeps the plain graph there, not on a GPU
    assert precision.resolve_jit("auto", "k", cpu_xla=False) == ("true" if platform == "gpu" else "false")
    assert precision.resolve_jit("true", "k", cpu_xla=False) == "true"


def test_an_unknown_value_is_one_line_naming_the_key():
    with pytest.raises(MriGanError, match=r"train\.jit_compile must be one of auto, true, false, got 'yes'"):
        precision.resolve_jit("yes", "train.jit_compile")


@pytest.mark.skipif("TF_ENABLE_ONEDNN_OPTS" in os.environ or platform.machine() not in ("x86_64", "AMD64")
                    or not Path("/proc/cpuinfo").is_file(), reason="TensorFlow's oneDNN default rule: Linux x86")
def test_tensorflow_uses_onednn_where_the_cpu_has_neural_network_instructions():
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    assert precision._onednn() == bool(flags & {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8",
                                              "amx_bf16"})


def test_fit_saves_the_resolved_choice_and_continues_under_another(tmp_path, tiny_prep, monkeypatch):
    from mri_gan.gans.fit import run_fit

    def cfg(jit):
        return load_config(None, ["gan.g_width=16", "gan.g_min_width=8", "gan.d_width=8", "gan.d_max_width=16",
                                  "gan.latent_dim=8", "train.batch_size=8", "train.eval_every=0",
                                  f"train.jit_compile={jit}"])

    monkeypatch.setattr(precision, "_onednn", lambda: True)
    run = tmp_path / "run"
    r = run_fit(tiny_prep, "glioma", run, cfg("auto"), epochs=1, verbose=0)
    assert load_saved(run / "config.yaml").train.jit_compile == "false" and not r["gan"].settings.jit
    r = run_fit(tiny_prep, "glioma", run, cfg("true"), epochs=2, verbose=0)  # continues, now XLA
    assert r["start_epoch"] == 1 and r["gan"].settings.jit
    assert load_saved(run / "config.yaml").train.jit_compile == "true"
