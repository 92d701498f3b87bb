"""`precision: auto` picks the policy from the machine; bad names are one-line errors."""

from __future__ import annotations

import pytest

from mri_gan.errors import MriGanError
from mri_gan.precision import cpu_has_bf16, gpu_policy, resolve_precision

SPR = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_tile\n"
ICX = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"


def test_cpu_flags():
    assert cpu_has_bf16(SPR)
    assert not cpu_has_bf16(ICX)
    assert not cpu_has_bf16("")  # no flags line (not Linux): assume none
    assert cpu_has_bf16("flags : sse2 amx_bf16\n")


def test_gpu_policy_by_compute_capability():
    assert gpu_policy((9, 0)) == "mixed_bfloat16"
    assert gpu_policy((8, 0)) == "mixed_bfloat16"
    assert gpu_policy((7, 5)) == "mixed_float16"
    assert gpu_policy((6, 1)) == "float32"
    assert gpu_policy(None) == "float32"


def test_resolve_explicit_names_and_errors():
    assert resolve_precision("float32", "train.precision") == "float32"
    assert resolve_precision("mixed_float16", "train.precision") == "mixed_float16"
    assert resolve_precision("mixed_bfloat16", "classifier.precision") == "mixed_bfloat16"
    with pytest.raises(MriGanError, match="classifier.precision 'fp8'"):
        resolve_precision("fp8", "classifier.precision")


@pytest.mark.parametrize("device,bf16,expected", [
    (("tensorflow", "cpu", "", None), True, "mixed_bfloat16"),
    (("tensorflow", "cpu", "", None), False, "float32"),
    (("tensorflow", "gpu", "NVIDIA H100", (9, 0)), False, "mixed_bfloat16"),  # the CPU flags do not matter
    (("tensorflow", "gpu", "Tesla V100", (7, 0)), True, "mixed_float16"),
    (("tensorflow", "gpu", "Tesla P100", (6, 0)), True, "float32"),
    (("jax", "gpu", "unknown", None), True, "float32"),
])
def test_auto_follows_the_machine(monkeypatch, device, bf16, expected):
    """`auto` on a described machine (any machine runs this: the device is faked)."""
    import mri_gan.precision as P

    monkeypatch.setattr(P, "accelerator", lambda: device)
    monkeypatch.setattr(P, "cpu_has_bf16", lambda cpuinfo=None: bf16)
    assert P.resolve_precision("auto", "train.precision") == expected


def test_accelerator_reports_this_machine():
    import tensorflow as tf

    from mri_gan.precision import POLICIES, accelerator, compute_device

    backend, platform, _, capability = accelerator()
    assert backend == "tensorflow"
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert platform == ("gpu" if has_gpu else "cpu") and (capability is None) == (not has_gpu)
    assert compute_device().startswith(f"tensorflow {platform}")
    assert resolve_precision("auto", "train.precision") in POLICIES
