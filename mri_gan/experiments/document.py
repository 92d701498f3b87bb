"""A tiny document model rendered to Markdown and to one self-contained HTML file.

The report is built once as a list of blocks (headings, paragraphs, tables, images) and rendered
twice, so report.md and report.html always say the same thing. HTML embeds images as base64.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path


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


def to_markdown(doc: Document, base_dir: str | Path) -> str:
    """Markdown with image links relative to `base_dir` (where report.md is written)."""
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{b.caption}*", ""]
            out += [table_markdown(b.columns, b.rows), ""]
        elif isinstance(b, Image):
            rel = os.path.relpath(b.path, base_dir)
            out += [f"![{b.caption}]({rel})", ""]
            if b.caption:
                out += [f"*{b.caption}*", ""]
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #bbb;padding:3px 8px;text-align:right;white-space:nowrap}
.wide{overflow-x:auto}th{background:#eee}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ccc}figcaption{font-size:0.85em;color:#555}
.caption{font-style:italic;color:#444}
"""


def _inline(text: str) -> str:
    """Escape, then render `code` and **bold** (the only inline markup the report uses)."""
    import re

    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)
    return t


def to_html(doc: Document) -> str:
    """One self-contained HTML page: CSS inline, images as data: URIs."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(doc.title)}</h1>"]
    for b in doc.blocks:
        if isinstance(b, Heading):
            lvl = min(max(b.level, 2), 6)
            parts.append(f"<h{lvl}>{_inline(b.text)}</h{lvl}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            if b.caption:
                parts.append(f"<p class='caption'>{_inline(b.caption)}</p>")
            head = "".join(f"<th>{html.escape(c)}</th>" for c in b.columns)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in b.rows)
            parts.append(f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")
        elif isinstance(b, Image):
            p = Path(b.path)
            if not p.is_file():
                parts.append(f"<p><i>missing figure: {html.escape(p.name)}</i></p>")
                continue
            data = base64.b64encode(p.read_bytes()).decode("ascii")
            style = f" style='width:{b.width}px'" if b.width else ""
            parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(b.caption)}'{style}>"
                         f"<figcaption>{_inline(b.caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
