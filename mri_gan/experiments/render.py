"""Look at a report page the way a reader does, in a headless Chromium: a screenshot, and a
layout check (does any table or figure stick out of the page, is any figure scaled down).

    python -m mri_gan.experiments.render DIR/report.html shot.png [WIDTH]
Needs Debian's `chromium` (apt-get install chromium); nothing is downloaded.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mri_gan.errors import MriGanError

READER_WIDTH = 1400  # px: the window a reader of the report is assumed to have
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    exe = find_chromium()
    if exe is None:
        raise MriGanError("no Chromium found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, *_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=timeout)


def screenshot(html: str | Path, png: str | Path, width: int = READER_WIDTH, height: int = 4000) -> Path:
    html, png = Path(html).resolve(), Path(png).resolve()
    if not html.is_file():
        raise MriGanError(f"report not found: {html}")
    proc = _chromium([f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()])
    if proc.returncode != 0 or not png.is_file():
        raise MriGanError(f"chromium failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:] or ''}")
    return png


# Runs once the page has loaded (figures decoded) and writes what the browser laid out into the DOM, which
# --dump-dom prints: the body's box, each table's and each image's box, the page's scroll width.
_PROBE = """<script>window.addEventListener("load", function () {
  const box = e => e.getBoundingClientRect();
  const out = {viewport: window.innerWidth, scroll_width: document.documentElement.scrollWidth,
               body: {left: box(document.body).left, right: box(document.body).right}, tables: [], images: []};
  document.querySelectorAll("table").forEach(t => out.tables.push({
    left: box(t).left, right: box(t).right, scroll: t.scrollWidth, client: t.clientWidth, font_px: parseFloat(getComputedStyle(t.querySelector("td,th")).fontSize),
    head: Array.from(t.querySelectorAll("th")).map(th => th.textContent)}));
  document.querySelectorAll("img").forEach(im => out.images.push({
    shown: box(im).width, width: im.naturalWidth, alt: im.getAttribute("alt") || ""}));
  const pre = document.createElement("pre"); pre.id = "layout-probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});</script>"""


def layout(html: str | Path, width: int = READER_WIDTH) -> dict:
    """What Chromium lays out for `html` in a window `width` px wide: {viewport, scroll_width,
    body: {left, right}, tables: [{left, right, scroll, client, font_px, head}], images: [{shown,
    width (the PNG's own), alt}]}."""
    html = Path(html)
    if not html.is_file():
        raise MriGanError(f"report not found: {html}")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / html.name
        text = html.read_text(encoding="utf-8")
        probe.write_text(text.replace("</body>", _PROBE + "</body>") if "</body>" in text else text + _PROBE,
                         encoding="utf-8")
        proc = _chromium([f"--window-size={width},2000", "--dump-dom", probe.resolve().as_uri()])
    m = re.search(r'<pre id="layout-probe">(.*?)</pre>', proc.stdout, re.S)
    if proc.returncode != 0 or not m:
        raise MriGanError(f"chromium failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:] or ''}")
    import html as html_module

    return json.loads(html_module.unescape(m.group(1)))


def layout_problems(found: dict) -> list[str]:
    """One line per thing a reader would miss in `layout`'s result: a page wider than the window,
    a table sticking out of the text column, a figure shown narrower than it was drawn."""
    out = []
    if found["scroll_width"] > found["viewport"]:
        out.append(f"the page is {found['scroll_width']} px wide in a {found['viewport']} px window")
    for i, t in enumerate(found["tables"]):
        name = f"table {i + 1} ({', '.join(t['head'][:3])}, ...)"
        if t["right"] > found["body"]["right"] + 1:
            out.append(f"{name} ends at {t['right']:.0f} px, past the text column ({found['body']['right']:.0f} px)")
        elif t["scroll"] > t["client"] + 1:
            out.append(f"{name} shows {t['client']} of its {t['scroll']} px: the rest is behind a scroll bar")
    for img in found["images"]:
        if img["width"] and img["shown"] < img["width"] - 1:
            out.append(f"figure '{img['alt'][:60]}' drawn {img['width']:.0f} px wide, shown at {img['shown']:.0f} px")
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python -m mri_gan.experiments.render REPORT.html OUT.png [WIDTH]")
    w = int(sys.argv[3]) if len(sys.argv) == 4 else READER_WIDTH
    print(screenshot(sys.argv[1], sys.argv[2], width=w))
    problems = layout_problems(layout(sys.argv[1], width=w))
    print("\n".join(problems) if problems else f"layout at {w} px: every table and figure fits, no figure scaled down")
