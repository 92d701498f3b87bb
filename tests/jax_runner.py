"""Run code on the JAX backend from the (TensorFlow) test process: a fresh Python with
KERAS_BACKEND=jax, since a process has one Keras backend. Tests that use it skip, with the reason,
where jax is not installed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HAVE_JAX = importlib.util.find_spec("jax") is not None
needs_jax = pytest.mark.skipif(not HAVE_JAX, reason="jax is not installed (pip install -e \".[test,jax]\")")


# Prelude of a JAX child that drives the CLI in-process: `run("fit", ...)` as `mrigan-tf fit ...`,
# a non-zero exit raising. Prepend it to the child's own code.
CLI_PRELUDE = """
import json, sys
from cli.main import cli


def run(*args):
    try:
        cli.main(args=list(args), prog_name="mrigan-tf", standalone_mode=False)
    except SystemExit as e:
        if e.code:
            raise
"""


def jax_env(**extra) -> dict:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_jax(args, timeout: int = 600, env=None, check: bool = True) -> subprocess.CompletedProcess:
    """`python ARGS...` on the JAX backend; with `check`, a failure shows the child's stderr tail."""
    p = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       env=env or jax_env(), cwd=str(ROOT))
    if check:
        assert p.returncode == 0, f"JAX child failed ({p.returncode}):\n{p.stderr[-4000:]}"
    return p


def result(p: subprocess.CompletedProcess):
    """The JSON a child printed on its `RESULT ` line."""
    lines = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, f"no RESULT line; stderr:\n{p.stderr[-3000:]}"
    return json.loads(lines[-1][7:])
