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


def test_resolve():
    assert resolve_precision("float32", "train.precision") == "float32"
    assert resolve_precision("mixed_float16", "train.precision") == "mixed_float16"
    auto = resolve_precision("auto", "train.precision")
    assert auto == ("mixed_bfloat16" if cpu_has_bf16() else "float32")  # the test machines have no GPU
    with pytest.raises(MriGanError, match="classifier.precision 'fp8'"):
        resolve_precision("fp8", "classifier.precision")
