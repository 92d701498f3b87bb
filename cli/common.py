"""Options shared by every command (config file, -s overrides, --dry-run) and their handling."""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.util
import os
import sys
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


def is_verbose() -> bool:
    """Whether the command line asked for `mrigan-tf --verbose` (TensorFlow's own log lines and
    every per-epoch Keras line shown)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, dict) and root.obj.get("verbose"))


class _SilentImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` on the first import and runs its package `__init__` with file
    descriptor 2 pointed at /dev/null: the lines TensorFlow's C++ libraries log while they load
    (absl's "All log messages before absl::InitializeLog()", oneDNN, "Could not find cuda
    drivers") come before any log level is read. Python errors still raise as usual; only the
    bytes written to fd 2 during that one import are dropped."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]  # once: the other finders do the work
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            with stderr_fd_to_devnull():
                run(module)

        spec.loader.exec_module = exec_module
        return spec


@contextlib.contextmanager
def stderr_fd_to_devnull():
    """Point fd 2 (what C/C++ code writes to) at /dev/null for the block; Python's sys.stderr
    is flushed first and writes to the same fd afterwards."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no fd 2 (an embedding host): nothing to hide
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ chatter from the user unless `--verbose`: TF_CPP_MIN_LOG_LEVEL=3
    (errors such as "failed call to cuInit" on a machine without a GPU included; a value the
    user set wins) and the first `import tensorflow` with fd 2 silenced (`_SilentImport`).
    Call it before TensorFlow is imported; later it changes nothing. Idempotent."""
    if is_verbose() or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not any(isinstance(f, _SilentImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _SilentImport())
