"""Bad input through the CLI: a one-line error (exit != 0, no traceback) or a reported skip whose counts add up."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli


def _img(path: Path, seed: int = 0, size: int = 64) -> Path:
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.uint8)
    for _ in range(8):
        c = (int(rng.integers(10, size - 10)), int(rng.integers(10, size - 10)))
        cv2.circle(img, c, int(rng.integers(3, 15)), int(rng.integers(40, 250)), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cv2.imencode(path.suffix or ".png", img)[1].tobytes())
    return path


def _run(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return res.exit_code, res.output


def _fails(code, out, fragment):
    assert code != 0, out
    assert "Traceback" not in out
    lines = [line for line in out.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("Error:") and fragment in lines[-1], out
    # our own errors are exactly one line; click's usage errors add a 'Usage:' hint above it
    assert len(lines) == 1 or lines[0].startswith("Usage:"), out


def _prepare(root, out):
    return _run("prepare", root, "--out", out, "--size", 16, "-s", "data.workers=1")


def test_missing_dir(tmp_path):
    _fails(*_run("audit", tmp_path / "nope"), "not found")
    _fails(*_prepare(tmp_path / "nope", tmp_path / "o"), "not found")


def test_no_images(tmp_path):
    (tmp_path / "empty").mkdir()
    _fails(*_prepare(tmp_path / "empty", tmp_path / "o"), "no image files")
    (tmp_path / "classes" / "a").mkdir(parents=True)
    (tmp_path / "classes" / "b").mkdir()
    _fails(*_run("audit", tmp_path / "classes"), "no image files")


def test_all_unreadable(tmp_path):
    (tmp_path / "r" / "a").mkdir(parents=True)
    (tmp_path / "r" / "a" / "x.jpg").write_text("not an image")
    _fails(*_prepare(tmp_path / "r", tmp_path / "o"), "could be read")


def test_unsafe_class_name(tmp_path):
    _img(tmp_path / "r" / "$(rm -rf)" / "a.png")
    _fails(*_run("audit", tmp_path / "r"), "unsafe class name")


def test_training_without_testing(tmp_path):
    _img(tmp_path / "r" / "Training" / "a" / "a.png")
    _fails(*_run("audit", tmp_path / "r"), "Testing")


def test_out_is_a_file_or_foreign_dir(tmp_path):
    for k in range(5):
        _img(tmp_path / "r" / "a" / f"{k}.png", k)
    (tmp_path / "f").write_text("x")
    _fails(*_prepare(tmp_path / "r", tmp_path / "f"), "is a file")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mine.txt").write_text("x")
    _fails(*_prepare(tmp_path / "r", tmp_path / "d"), "did not write")


def test_bad_files_are_reported_skips(tmp_path):
    root = tmp_path / "raw"
    for split in ("Training", "Testing"):
        for k in range(6) if split == "Training" else range(10, 12):
            _img(root / split / "no tumör" / f"bild {k} ä.jpg", k)  # spaces + non-ASCII
            _img(root / split / "glioma" / f"g{k}.png", 100 + k)
    (root / "Testing" / "empty class").mkdir()  # empty class folder
    (root / "Training" / "glioma" / "notes.txt").write_text("hello")  # not an image
    (root / "Training" / "glioma" / "empty.jpg").write_bytes(b"")
    good = (root / "Training" / "glioma" / "g0.png").read_bytes()
    jpeg = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))[1].tobytes()
    (root / "Training" / "glioma" / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # truncated JPEG
    cv2.imwrite(str(root / "Training" / "glioma" / "dot.png"), np.zeros((1, 1), np.uint8))  # 1x1
    (root / "Training" / ".DS_Store").write_bytes(good[:10])  # hidden: ignored, counted
    code, out = _run("audit", root, "--json", tmp_path / "a.json")
    assert code == 0, out
    assert "files: 20  decoded: 16  unreadable: 4" in out
    for reason in ("not an image", "empty file", "truncated JPEG", "too small (1x1"):
        assert reason in out
    assert "skipped empty class folder: Testing/empty class" in out
    code, out = _prepare(root, tmp_path / "prep")
    assert code == 0 and "Traceback" not in out, out
    assert "found 20 = train 12 + test 4 + dropped 0 + unreadable 4" in out
    assert "skipped unreadable: Training/glioma/cut.jpg: truncated JPEG" in out
    assert (tmp_path / "prep" / "train" / "no tumör" / "bild 0 ä.png").is_file()
    assert len(list((tmp_path / "prep").rglob("*.png"))) == 16


def test_dry_run_and_help(tmp_path):
    code, out = _run("prepare", tmp_path, "--out", tmp_path / "o", "--size", 48, "--split", "grouped",
                     "--keep-leaks", "--dry-run")
    assert code == 0 and "size: 48" in out and "split: grouped" in out and "drop_leaks: false" in out
    assert not (tmp_path / "o").exists()
    code, out = _run("audit", "--help")
    assert code == 0 and "--json" in out


@pytest.mark.parametrize("bad", ["data.split=random", "data.size=3"])
def test_bad_options(tmp_path, bad):
    _img(tmp_path / "r" / "a" / "0.png")
    _fails(*_run("prepare", tmp_path / "r", "--out", tmp_path / "o", "-s", bad), "data.")
