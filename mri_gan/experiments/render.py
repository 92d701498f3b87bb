"""Render a report page to PNG with a headless Chromium, to check that it displays.

    python -m mri_gan.experiments.render DIR/report.html shot.png
Needs Debian's `chromium` (apt-get install chromium); nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mri_gan.errors import MriGanError


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: str | Path, png: str | Path, width: int = 1200, height: int = 4000) -> Path:
    exe = find_chromium()
    if exe is None:
        raise MriGanError("no Chromium found: apt-get install chromium")
    html, png = Path(html).resolve(), Path(png).resolve()
    if not html.is_file():
        raise MriGanError(f"report not found: {html}")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not png.is_file():
        raise MriGanError(f"chromium failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:] or ''}")
    return png


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m mri_gan.experiments.render REPORT.html OUT.png")
    print(screenshot(sys.argv[1], sys.argv[2]))
