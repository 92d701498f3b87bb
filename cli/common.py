"""Options shared by every command (config file, -s overrides, --dry-run) and their handling."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click

from mri_gan.errors import MriGanError


def config_options(func):
    """Add `-c/--config FILE`, `-s/--set section.key=value` (repeatable) and `--dry-run`."""

    @click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), default=None,
                  help="YAML config (see configs/); defaults come from mri_gan/config.py.")
    @click.option("-s", "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                  help="Override one config key, e.g. -s train.epochs=5 (repeatable).")
    @click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def resolve_config(config_path, overrides, extra: dict | None = None):
    """Load the config, apply `-s` overrides, then explicit CLI options (`extra`: 'section.key' -> value,
    None values skipped). Explicit options win because they are the most specific."""
    from mri_gan.config import _apply, load_config

    cfg = load_config(config_path, overrides)
    for dotted, value in (extra or {}).items():
        if value is None:
            continue
        section, key = dotted.split(".", 1)
        _apply(cfg, section, key, value)
    return cfg


def explicit_budget(cfg, config_path, overrides, epochs=None, kimg=None) -> tuple:
    """(epochs, kimg) of a GAN run as this command gave them, None where not given: the --epochs /
    --kimg options when either is given, else train.epochs / train.kimg as `cfg` holds them where
    the config file or a -s names them."""
    if epochs is not None or kimg is not None:
        return epochs, kimg
    from mri_gan.config import parse_override

    named = set()
    if config_path is not None:
        import yaml

        data = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))  # load_config has checked it
        train = data.get("train") if isinstance(data, dict) else None
        named |= set(train) if isinstance(train, dict) else set()
    named |= {key for section, key, _ in map(parse_override, overrides) if section == "train"}
    return (cfg.train.epochs if "epochs" in named else None), (cfg.train.kimg if "kimg" in named else None)


def resolve_gan_config(config_path, overrides, extra: dict | None, epochs=None, kimg=None):
    """`resolve_config` for a command that trains GANs, with the run length decided by
    `mri_gan.gans.fit.set_budget` from `explicit_budget`; returns (cfg, (epochs, kimg))."""
    from mri_gan.gans.fit import set_budget

    cfg = resolve_config(config_path, overrides, extra)
    budget = explicit_budget(cfg, config_path, overrides, epochs, kimg)
    set_budget(cfg.train, *budget)
    return cfg, budget


def dry_run_exit(cfg) -> None:
    click.echo(cfg.to_yaml(), nl=False)
    raise SystemExit(0)


def existing_dir(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise MriGanError(f"{what} not found: {p}")
    if not p.is_dir():
        raise MriGanError(f"{what} is not a directory: {p}")
    return p


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up chatter before it is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
