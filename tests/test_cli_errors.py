"""Loading a command: a missing optional package gives the friendly 'not available' line; a
real bug in a command module (an ImportError of our own code, an AttributeError, a SyntaxError)
surfaces as one line naming the file, instead of being disguised as 'not available'."""

from __future__ import annotations

import sys
import textwrap

import pytest
from click.testing import CliRunner

from cli import main as cli_main


@pytest.fixture
def command_module(tmp_path, monkeypatch):
    """Register a command `probe` served by a module `mrigan_probe_cmd` in tmp_path."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli_main.COMMANDS, "probe", ("mrigan_probe_cmd:probe", "A test command."))

    def write(body: str):
        sys.modules.pop("mrigan_probe_cmd", None)
        path = tmp_path / "mrigan_probe_cmd.py"
        path.write_text(textwrap.dedent(body))
        return path

    yield write
    sys.modules.pop("mrigan_probe_cmd", None)


def _run(*args):
    res = CliRunner().invoke(cli_main.cli, list(args))
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    return res.exit_code, lines


def _ok_command(extra: str = "") -> str:
    return extra + "\nimport click\n\n@click.command()\ndef probe():\n    click.echo('ran')\n"


def test_working_command(command_module):
    command_module(_ok_command())
    assert _run("probe") == (0, ["ran"])


def test_missing_optional_package_is_not_available(command_module):
    command_module(_ok_command("import mrigan_no_such_package_xyz"))
    code, lines = _run("probe")
    assert code != 0 and len(lines) == 1
    assert "not available" in lines[0] and "mrigan_no_such_package_xyz" in lines[0]


@pytest.mark.parametrize("body, fragment", [
    (_ok_command("from mri_gan.utils import no_such_helper"), "no_such_helper"),  # our own import bug
    (_ok_command("import mri_gan.no_such_module"), "mri_gan.no_such_module"),  # a module of ours missing
    (_ok_command("import os\nos.no_such_attribute"), "no_such_attribute"),  # AttributeError at import
    ("def probe(:\n    pass\n", "SyntaxError"),
    ("import click\n", "has no command 'probe'"),  # the registered name is wrong
])
def test_real_import_bugs_surface_with_the_file(command_module, body, fragment):
    path = command_module(body)
    code, lines = _run("probe")
    assert code != 0 and len(lines) == 1, lines
    assert lines[0].startswith("Error:") and "not available" not in lines[0], lines
    assert fragment in lines[0] and str(path) in lines[0], lines
