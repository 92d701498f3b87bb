"""One place that turns a precision setting into a Keras dtype policy name.

`auto` picks what is fastest on the machine it runs on, without asking the user to know it:
- a GPU with compute capability >= 8.0 (Ampere and later): mixed_bfloat16; 7.x: mixed_float16
  (with loss scaling); older GPUs: float32;
- a CPU with bfloat16 instructions (AVX512_BF16 or AMX, read from /proc/cpuinfo): mixed_bfloat16
  (1.8x faster than float32 on such a 2-core machine, KERAS-NOTES);
- any other CPU: float32 (without those instructions bfloat16 is emulated: a 128 px classifier
  step was 2.7x slower than in float32 on a 2-core Xeon without AVX512_BF16, BENCHMARKS.md).
"""

from __future__ import annotations

from pathlib import Path

from mri_gan.errors import MriGanError

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
CHOICES = ("auto",) + POLICIES
JIT_CHOICES = ("auto", "true", "false")


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """True if the CPU flags include AVX512_BF16 or AMX_BF16 (Linux /proc/cpuinfo; False if unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def gpu_policy(compute_capability) -> str:
    """Policy for a GPU of this (major, minor) compute capability (None: unknown -> float32)."""
    if not compute_capability:
        return "float32"
    major = int(compute_capability[0])
    return "mixed_bfloat16" if major >= 8 else "mixed_float16" if major >= 7 else "float32"


def resolve_precision(name: str, key: str) -> str:
    """`name` (one of CHOICES) -> a Keras dtype policy name; one-line error naming config `key` otherwise."""
    if name not in CHOICES:
        raise MriGanError(f"unknown {key} {name!r} (choose from {', '.join(CHOICES)})")
    if name != "auto":
        return name
    _, platform, _, capability = accelerator()
    if platform != "cpu":
        return gpu_policy(capability)
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def resolve_jit(setting, key: str, cpu_xla: bool = True) -> str:
    """A `jit_compile` setting (auto | true | false, or a bool) of config `key` -> "true" or "false"
    on this machine.

    auto: XLA on a GPU and on other backends; on a CPU under TensorFlow, XLA if `cpu_xla` (the
    caller's model is one XLA:CPU was measured to speed up) unless TensorFlow runs its kernels with
    oneDNN (it does by default on Linux x86 CPUs with AVX512_VNNI, AVX512_BF16,
    AVX_VNNI or AMX; TF_ENABLE_ONEDNN_OPTS overrides). XLA:CPU compiles convolutions without
    oneDNN: on the AVX2-only EPYC the XLA GAN step was 1.57x faster at 64 px, on the AVX-512
    machines the plain graph was faster (BENCHMARKS.md, *XLA or the plain graph*). The classifier
    passes cpu_xla=False: on the AVX2-only EPYC its epoch was no faster with XLA, with or without
    augmentation layers (*The classifier with XLA*)."""
    value = ("true" if setting else "false") if isinstance(setting, bool) else str(setting).lower()
    if value not in JIT_CHOICES:
        raise MriGanError(f"{key} must be one of {', '.join(JIT_CHOICES)}, got {setting!r}")
    if value != "auto":
        return value
    import keras

    if keras.backend.backend() != "tensorflow":
        return "true"
    if accelerator()[1] != "cpu":
        return "true"
    return "true" if cpu_xla and not _onednn() else "false"


def _onednn() -> bool:
    """Whether TensorFlow runs its CPU kernels with oneDNN (False where it cannot say)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def accelerator() -> tuple[str, str, str, tuple | None]:
    """(Keras backend, platform, device name, GPU compute capability or None) of the device the
    backend computes on first, e.g. ('jax', 'gpu', 'NVIDIA H100 80GB HBM3', (9, 0)) or
    ('tensorflow', 'cpu', '', None)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        cc = getattr(d, "compute_capability", None)
        return backend, d.platform, getattr(d, "device_kind", ""), tuple(int(v) for v in str(cc).split(".")[:2]) if cc else None
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return backend, "cpu", "", None
        return backend, "cuda", torch.cuda.get_device_name(0), tuple(torch.cuda.get_device_capability(0))
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return backend, "cpu", "", None
    details = tf.config.experimental.get_device_details(gpus[0])
    return backend, "gpu", details.get("device_name", ""), details.get("compute_capability")


def compute_device() -> str:
    """What computes, for provenance in results: e.g. 'tensorflow cpu' or 'jax gpu NVIDIA H100 80GB HBM3'."""
    backend, platform, name, _ = accelerator()
    return f"{backend} {platform} {name}".strip()
