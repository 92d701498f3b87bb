"""The library works without the CLI and changes nothing process-wide when imported: no click,
and OpenCV's thread count is set only inside the worker processes that need it."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import cv2
before = cv2.getNumThreads()
import mri_gan.data.readers, mri_gan.data.discover, mri_gan.data.crop, mri_gan.data.preprocess, mri_gan.utils, mri_gan.images
import mri_gan.experiments.study, mri_gan.experiments.compare, mri_gan.experiments.report
import mri_gan.experiments.layout, mri_gan.experiments.tables
import mri_gan.gans.fit, mri_gan.gans.callbacks
print(before, cv2.getNumThreads(), "click" in sys.modules)
"""


def test_imports_leave_the_process_alone():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True)
    before, after, click_loaded = out.stdout.split()
    assert after == before, "importing the library changed cv2's thread count"
    assert click_loaded == "False", "the library imported click"


def test_study_and_compare_log_through_a_callback(tmp_path, capsys):
    from mri_gan.experiments.compare import _logger
    from mri_gan.experiments.study import Study
    from mri_gan.config import Config

    lines = []
    study = Study(Config(), tmp_path, tmp_path / "out", log=lines.append)
    study.log("x")
    _logger(lines.append, progress=True)("y")
    _logger(None, progress=False)("hidden")
    assert lines == ["x", "y"] and capsys.readouterr().err == ""
