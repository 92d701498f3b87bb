"""A tiny document model rendered to Markdown and to one self-contained HTML file.

The report is built once as a list of blocks (headings, paragraphs, warnings, tables, images,
galleries of images) and rendered twice, so report.md and report.html always say the same
thing: the HTML is the same Markdown rendered by the `markdown` package (tables extension),
with the images embedded as base64 and galleries laid out as a grid.

The page is made to be read at 1400 px and printed: tables wrap inside their cells (a value and
its "± spread" or "[CI]" stay together) instead of scrolling sideways, and an image is shown at
its own pixel width (never scaled down unless the window is narrower), so the text drawn in a
figure keeps the size it was drawn at. `table_min_width` estimates how wide a table can shrink.
"""

from __future__ import annotations

import base64
import html
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import markdown


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    columns: list[str]
    rows: list[list]
    caption: str = ""


@dataclass
class Image:
    path: str
    caption: str = ""
    width: int = 0  # px in HTML; 0 = the PNG's own width (capped by the page width)


@dataclass
class Gallery:
    """Figures side by side in a grid (HTML); one after another in Markdown."""
    images: list[Image]
    caption: str = ""


@dataclass
class Warning:
    """A caveat the reader must see next to the numbers it concerns."""
    text: str


@dataclass
class Document:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks):
        self.blocks.extend(blocks)
        return self


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


NBSP = "\u00a0"


def glue(text: str) -> str:
    """`text` with no line break inside a value: 'm ± s' and '[lo, hi]' become unbreakable, so a
    wrapping table cell breaks between a mean and its interval, never inside either."""
    text = text.replace(" ± ", f"{NBSP}±{NBSP}")
    return re.sub(r"\[([^\]]*)\]", lambda m: "[" + m.group(1).replace(" ", NBSP) + "]", text)


PAGE_WIDTH = 1200  # px: the body's max-width in the CSS below
CHAR_PX = 8.2  # average advance of a digit or letter at the table font (0.9 x 16 px system-ui), px
CELL_PAD_PX = 15  # horizontal padding plus border of a cell, px


def table_min_width(columns, rows) -> float:
    """Estimated narrowest width in px a browser can lay the table out at: per column the
    longest unbreakable piece of any cell (words split at ordinary spaces and hyphens; NBSP-glued
    values stay whole, see `glue`), times CHAR_PX, plus padding."""
    def piece(text) -> int:
        text = glue(_cell(text).replace("**", ""))
        return max((len(w) for w in re.split(r"[ \-/]", text)), default=0)

    total = 0.0
    for j, head in enumerate(columns):
        longest = max([piece(head)] + [piece(row[j]) for row in rows if j < len(row)])
        total += longest * CHAR_PX + CELL_PAD_PX
    return total


def table_markdown(columns, rows) -> str:
    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join([head, sep, *body])


def _markdown(doc: Document, image: Callable[[Image], str], gallery: Callable[[Gallery], str] | None = None,
              cell: Callable[[str], str] = str) -> str:
    """The document as Markdown; `image(block)` renders one existing figure (link or embedded),
    `gallery(block)` a grid of them (default: one after another), `cell` each table cell's text."""
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += ["#" * min(max(b.level, 2), 6) + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Warning):
            out += [f"> **Caveat.** {b.text}", ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{b.caption}*", ""]
            out += [table_markdown(b.columns, [[cell(_cell(v)) for v in row] for row in b.rows]), ""]
        elif isinstance(b, Gallery):
            shown = [i for i in b.images if Path(i.path).is_file()]
            if gallery is not None and shown:
                out += [gallery(Gallery(shown, b.caption)), ""]
                continue
            for i in b.images:
                out += _image_markdown(i, image)
            if b.caption:
                out += [f"*{b.caption}*", ""]
        elif isinstance(b, Image):
            out += _image_markdown(b, image)
    return "\n".join(out)


def _image_markdown(b: Image, image: Callable[[Image], str]) -> list[str]:
    if not Path(b.path).is_file():
        return [f"*missing figure: {Path(b.path).name}*", ""]
    return [image(b), ""] + ([f"*{b.caption}*", ""] if b.caption else [])


def to_markdown(doc: Document, base_dir: str | Path) -> str:
    """Markdown with image links relative to `base_dir` (where report.md is written)."""
    return _markdown(doc, lambda b: f"![{b.caption}](<{os.path.relpath(b.path, base_dir)}>)")


_CSS = f"""
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:{PAGE_WIDTH}px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}}
h1{{border-bottom:2px solid #444}}h2{{border-bottom:1px solid #bbb;margin-top:2em}}
table{{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em;max-width:100%;font-variant-numeric:tabular-nums}}
th,td{{border:1px solid #bbb;padding:3px 7px;text-align:right;vertical-align:top}}
th{{background:#eee}}
td:first-child,th:first-child{{text-align:left}}
img{{max-width:100%;height:auto;border:1px solid #ccc}}
blockquote{{background:#fff6dc;border-left:4px solid #d99a00;margin:0.8em 0;padding:0.3em 1em}}
.gallery{{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start;margin:0.5em 0 1.2em}}
.gallery figure{{margin:0}}
.gallery figcaption{{font-size:0.85em;color:#444;max-width:100%}}
@media print{{
body{{max-width:none;margin:0;font-size:10pt}}
table{{font-size:8.5pt;break-inside:avoid}}
h2,h3{{break-after:avoid}}
figure,img{{break-inside:avoid}}
}}
"""


def png_size(path) -> tuple[int, int]:
    """(width, height) in px from a PNG's header."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return struct.unpack(">II", head[16:24])


def _data_uri(path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _shown_width(b: Image) -> int:
    return b.width or png_size(b.path)[0]


def _embedded(b: Image) -> str:
    """A Markdown image whose source is the PNG itself (data: URI), shown at `width` (default:
    its own pixel width) with attr_list."""
    width = _shown_width(b)
    return f"![{b.caption}]({_data_uri(b.path)})" + (f'{{: width="{width}"}}' if width else "")


def _gallery_html(g: Gallery) -> str:
    """A raw HTML block: the figures as a wrapping row, each at its own width with its caption."""
    items = []
    for b in g.images:
        width = _shown_width(b)
        items.append(f'<figure style="width:{width}px;max-width:100%"><img src="{_data_uri(b.path)}" '
                     f'width="{width}" alt="{html.escape(b.caption, quote=True)}">'
                     f"<figcaption>{html.escape(b.caption)}</figcaption></figure>")
    caption = f"<p><em>{html.escape(g.caption)}</em></p>" if g.caption else ""
    return '<div class="gallery">' + "".join(items) + "</div>" + caption


def to_html(doc: Document) -> str:
    """One self-contained HTML page: the same Markdown rendered by `markdown`, CSS inline,
    images embedded as data: URIs and table values glued (`glue`)."""
    body = markdown.markdown(_markdown(doc, _embedded, _gallery_html, glue), extensions=["tables", "attr_list"])
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>\n"
            f"{body}\n</body></html>\n")
