"""The allowed values of the config's keys, and the check of one value against them.

`mri_gan.config` holds every key and its default; this module holds what a key may take: the
choices of string keys (`CHOICES`), the range of number keys (`RANGES`), the retired keys a saved
run may still hold (`RETIRED`), and `check_value`, which coerces one value to its field's type
and checks it, with an error naming the key.
"""

from __future__ import annotations

import typing
from typing import Any

from mri_gan.errors import MriGanError

# Options retired because their trials did not help (docs/defaults.md, "Retired options"), with the
# value that means what this version does. A run directory written before they went still loads
# when it holds that value (None: any value); a config that sets one is an unknown key.
RETIRED: dict[str, Any] = {
    "gan.g_extra_convs": 0, "gan.g_upsample": "transpose", "gan.d_dense": 0, "gan.sn_mode": "projection",
    "gan.r1_bn_moments": "live", "train.lr_decay": "none", "train.lr_decay_start": None, "synth.truncation": 0.0,
}

SPLITS = ("shipped", "dedup", "grouped")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
# The allowed values of string keys with fixed choices (of each item, for a list key). The modules
# that act on these keys hold the same lists (tests/test_config_effective.py checks they agree).
CHOICES: dict[str, tuple[str, ...]] = {
    "data.split": SPLITS,
    "gan.kind": ("dcgan", "proposed", "lsgan", "wgan_gp", "infogan"),
    "gan.loss": ("", "bce", "lsgan", "wgan_gp", "hinge"),
    "train.best_by": ("targets", "kid"),
    "train.precision": PRECISIONS,
    "train.jit_compile": ("auto", "true", "false"),
    "train.strategy": ("auto", "default", "mirrored", "multiworker"),
    "train.diffaugment_per": ("image", "group"),
    "eval.feature_head": ("flatten", "gap"),
    "classifier.padding": ("valid", "same"),
    "classifier.head": ("flatten", "gap"),
    "classifier.optimizer": ("adam", "adamw"),
    "classifier.lr_schedule": ("constant", "cosine"),
    "classifier.precision": PRECISIONS,
    "classifier.jit_compile": ("auto", "true", "false"),
    "study.split": SPLITS,
    "study.real_splits": SPLITS,
    "study.gan": ("per_class", "conditional"),
    "few_labels.classic_lr_schedule": ("", "constant", "cosine"),
    "compare.kinds": ("dcgan", "proposed", "lsgan", "wgan_gp", "infogan"),
}
DIFFAUGMENT_OPS = ("translation", "cutout", "color")  # train.diffaugment: any of them, comma-separated

# The range of each number key (of each item, for a list key): ">= a", "> a" or an interval.
RANGES: dict[str, str] = {
    "data.size": ">= 1", "data.test_fraction": "(0, 1)", "data.seed": ">= 0", "data.near_threshold": "[0, 256]",
    "data.group_threshold": "[0, 256]", "data.crop_threshold": "[0, 255]", "data.min_side": ">= 1",
    "data.workers": ">= 0", "data.batch_size": ">= 1", "data.shuffle_buffer": ">= 1",
    "gan.latent_dim": ">= 1", "gan.start_res": ">= 1", "gan.g_width": ">= 1", "gan.g_min_width": ">= 1",
    "gan.d_width": ">= 1", "gan.d_max_width": ">= 1", "gan.minibatch_std": ">= 0", "gan.n_critic": ">= 0",
    "gan.gp_weight": ">= 0", "gan.info_categorical": ">= 0", "gan.info_continuous": ">= 0",
    "gan.info_weight": ">= 0", "gan.pack": ">= 1", "gan.r1_gamma": ">= 0", "gan.r1_every": ">= 1",
    "train.epochs": ">= 0", "train.kimg": ">= 0", "train.eval_every": ">= 0", "train.patience": ">= 0",
    "train.eval_n": ">= 1", "train.batch_size": ">= 1", "train.g_lr": "> 0", "train.d_lr": "> 0",
    "train.beta_1": "[0, 1)", "train.beta_2": "[0, 1)", "train.seed": ">= 0", "train.sample_every": ">= 0",
    "train.sample_epochs": ">= 1", "train.sample_grid": ">= 1", "train.checkpoint_every": ">= 1",
    "train.keep_checkpoints": ">= 1", "train.ada_target": "[-1, 1]", "train.ada_interval": ">= 1",
    "train.ada_speed": "> 0", "train.ema": "[0, 1)", "train.steps_per_execution": ">= 1",
    "synth.n": ">= 1", "synth.seed": ">= 0", "synth.batch_size": ">= 1",
    "eval.shortlist_k": ">= 0", "eval.shortlist_size": ">= 1", "eval.psnr_cap": "> 0", "eval.kid_subsets": ">= 1",
    "eval.kid_subset_size": ">= 2", "eval.pr_k": ">= 1", "eval.ms_ssim_pairs": ">= 1", "eval.copy_quantile": "[0, 1]", "eval.nearest_ssim_target": "[0, 1]",
    "eval.worst_examples": ">= 0", "eval.seed": ">= 0", "eval.feature_epochs": ">= 1", "eval.feature_batch": ">= 1",
    "classifier.epochs": ">= 1", "classifier.seeds": ">= 1", "classifier.batch_size": ">= 1", "classifier.lr": "> 0",
    "classifier.val_fraction": "[0, 1)", "classifier.filters": ">= 1", "classifier.convs_per_block": ">= 1",
    "classifier.dropout": "[0, 1)", "classifier.weight_decay": ">= 0", "classifier.warmup_epochs": ">= 0",
    "classifier.label_smoothing": "[0, 1)", "classifier.synthetic_share": "(0, 1]",
    "compare.n": ">= 1",
    "study.sizes": ">= 1", "study.n_synthetic": ">= 0", "study.n_synthetic_notumor": ">= 0",
}


def _in_range(value: float, spec: str) -> bool:
    if spec.startswith((">", "<")):
        op, bound = spec.split()
        b = float(bound)
        return {">=": value >= b, ">": value > b}[op]
    lo, hi = (float(x) for x in spec[1:-1].split(","))
    return (lo <= value if spec[0] == "[" else lo < value) and (value <= hi if spec[-1] == "]" else value < hi)


def _check_allowed(where: str, value: Any) -> None:
    """The choice / range check of one (item) value of key `where`."""
    if where in CHOICES and value not in CHOICES[where]:
        shown = " | ".join(c or '""' for c in CHOICES[where])
        raise MriGanError(f"{where} must be one of {shown}, got {value!r}")
    if where in RANGES and isinstance(value, (int, float)) and not _in_range(value, RANGES[where]):
        spec = RANGES[where]
        raise MriGanError(f"{where} must be {spec if spec[0] in '<>' else 'in ' + spec}, got {value!r}")
    if where == "train.diffaugment":
        bad = [op for op in (p.strip() for p in value.split(",")) if op and op not in DIFFAUGMENT_OPS]
        if bad:
            raise MriGanError(f"train.diffaugment: unknown op {bad[0]!r} (any of {', '.join(DIFFAUGMENT_OPS)}, "
                              f"comma-separated; \"\" = off)")


def check_value(section: str, key: str, value: Any, hint: Any) -> Any:
    """Coerce/validate one value against its dataclass field type, its choices and its range."""
    value = _coerce(section, key, value, hint)
    for v in value if isinstance(value, list) else [value]:
        _check_allowed(f"{section}.{key}", v)
    return value


def _coerce(section: str, key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    where = f"{section}.{key}"
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            # "5,10,30" or a bare scalar
            value = [v for v in str(value).split(",") if v.strip()] if isinstance(value, str) else [value]
        if not isinstance(value, list):
            raise MriGanError(f"{where}: expected a list, got {value!r}")
        return [_coerce(section, key, v, item) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise MriGanError(f"{where}: expected true/false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise MriGanError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise MriGanError(f"{where}: expected an integer, got {value!r}") from None
    if hint is float:
        if isinstance(value, bool):
            raise MriGanError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise MriGanError(f"{where}: expected a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, bool):  # YAML reads true/false as booleans: a true | false | auto key
            return "true" if value else "false"
        return "" if value is None else str(value)
    return value
