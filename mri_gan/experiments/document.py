"""A tiny document model rendered to Markdown and to one self-contained HTML file.

The report is built once as a list of blocks (headings, paragraphs, tables, images) and rendered
twice, so report.md and report.html always say the same thing: the HTML is the same Markdown
rendered by the `markdown` package (tables extension), with the images embedded as base64.
"""

from __future__ import annotations

import base64
import html
import os
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
    width: int = 0  # px in HTML; 0 = natural (capped by CSS)


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


def table_markdown(columns, rows) -> str:
    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join([head, sep, *body])


def _markdown(doc: Document, image: Callable[[Image], str]) -> str:
    """The document as Markdown; `image(block)` renders one existing figure (link or embedded)."""
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += ["#" * min(max(b.level, 2), 6) + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{b.caption}*", ""]
            out += [table_markdown(b.columns, b.rows), ""]
        elif isinstance(b, Image):
            if not Path(b.path).is_file():
                out += [f"*missing figure: {Path(b.path).name}*", ""]
                continue
            out += [image(b), ""]
            if b.caption:
                out += [f"*{b.caption}*", ""]
    return "\n".join(out)


def to_markdown(doc: Document, base_dir: str | Path) -> str:
    """Markdown with image links relative to `base_dir` (where report.md is written)."""
    return _markdown(doc, lambda b: f"![{b.caption}](<{os.path.relpath(b.path, base_dir)}>)")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em;display:block;overflow-x:auto}
th,td{border:1px solid #bbb;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#eee}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ccc}
"""


def _embedded(b: Image) -> str:
    """A Markdown image whose source is the PNG itself (data: URI), width set with attr_list."""
    data = base64.b64encode(Path(b.path).read_bytes()).decode("ascii")
    width = f'{{: width="{b.width}"}}' if b.width else ""
    return f"![{b.caption}](data:image/png;base64,{data}){width}"


def to_html(doc: Document) -> str:
    """One self-contained HTML page: the same Markdown rendered by `markdown`, CSS inline and
    images embedded as data: URIs."""
    body = markdown.markdown(_markdown(doc, _embedded), extensions=["tables", "attr_list"])
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>\n"
            f"{body}\n</body></html>\n")
