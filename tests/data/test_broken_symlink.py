"""A broken symbolic link in a class folder is a file that cannot be read: `audit` and `prepare`
report it (with the reason) and count it, so found = written + dropped + unreadable."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli

pytestmark = pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")


def _img(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    img = np.zeros((32, 32), np.uint8)
    cv2.circle(img, (16, 16), int(rng.integers(6, 12)), int(rng.integers(60, 250)), -1)
    img[rng.integers(0, 32), rng.integers(0, 32)] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


def _run(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return res.exit_code, res.output


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "raw"
    for k in range(6):
        _img(root / "a" / f"a{k}.png", k)
        _img(root / "b" / f"b{k}.png", 50 + k)
    (root / "a" / "gone.png").symlink_to(tmp_path / "does-not-exist.png")
    (root / "b" / "loop.png").symlink_to(root / "b" / "loop.png")  # a link to itself: never readable
    return root


def test_discover_lists_broken_links(root):
    from mri_gan.data.discover import discover

    rels = {it.rel for it in discover(root).items}
    assert {"a/gone.png", "b/loop.png"} <= rels and len(rels) == 14


def test_audit_reports_broken_link(root, tmp_path):
    code, out = _run("audit", root, "--json", tmp_path / "a.json", "-s", "data.workers=1")
    assert code == 0, out
    assert "files: 14  decoded: 12  unreadable: 2" in out
    assert "unreadable: a/gone.png: broken symbolic link" in out
    assert "unreadable: b/loop.png: broken symbolic link" in out


def test_prepare_counts_broken_link(root, tmp_path):
    code, out = _run("prepare", root, "--out", tmp_path / "prep", "--size", 16, "-s", "data.workers=1")
    assert code == 0 and "Traceback" not in out, out
    assert "found 14 = " in out and "unreadable 2" in out, out
    assert "skipped unreadable: a/gone.png: broken symbolic link" in out
