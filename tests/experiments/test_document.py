"""The report's document model: the same blocks as Markdown and as one self-contained HTML page."""

from __future__ import annotations

import base64
import re

import cv2
import numpy as np

from mri_gan.experiments.document import Bullets, Document, Heading, Image, Para, Table, to_html, to_markdown


def _doc(tmp_path):
    fig = tmp_path / "figures" / "grid.png"
    fig.parent.mkdir()
    cv2.imwrite(str(fig), np.full((4, 6), 128, np.uint8))
    doc = Document("Study report")
    doc.add(Heading("Table V: classifier"), Para("uses `train.epochs` and **two** seeds"),
            Bullets(["first point", "second point"]),
            Table(["split", "accuracy_vs_real", "note"], [["dedup", 0.912345, "a | b"], ["shipped", None, 3]],
                  "accuracy per split"),
            Heading("Details", level=3),
            Image(str(fig), "samples after the last epoch", 420),
            Image(str(tmp_path / "figures" / "gone.png"), "never drawn"))
    return doc, fig


def test_markdown_links_images_relative_and_renders_tables(tmp_path):
    doc, _ = _doc(tmp_path)
    md = to_markdown(doc, tmp_path)
    assert md.startswith("# Study report\n")
    assert "## Table V: classifier" in md and "### Details" in md
    assert "| split | accuracy_vs_real | note |" in md and "| dedup | 0.9123 | a \\| b |" in md
    assert "| shipped |  | 3 |" in md  # None is an empty cell
    assert "![samples after the last epoch](<figures/grid.png>)" in md
    assert "*missing figure: gone.png*" in md and "gone.png)" not in md


def test_html_is_self_contained_with_tables_images_and_headings(tmp_path):
    doc, fig = _doc(tmp_path)
    page = to_html(doc)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<title>Study report</title>" in page and "<h1>Study report</h1>" in page
    assert "<h2>Table V: classifier</h2>" in page and "<h3>Details</h3>" in page
    assert "<code>train.epochs</code>" in page and "<strong>two</strong>" in page
    assert "<li>first point</li>" in page
    cells = re.findall(r"<t[hd]>(.*?)</t[hd]>", page)
    assert cells == ["split", "accuracy_vs_real", "note", "dedup", "0.9123", "a | b", "shipped", "", "3"]
    assert "<em>accuracy per split</em>" in page
    imgs = re.findall(r"<img [^>]*>", page)
    assert len(imgs) == 1
    src = re.search(r'src="data:image/png;base64,([^"]+)"', imgs[0]).group(1)
    assert base64.b64decode(src) == fig.read_bytes()  # the figure itself, not a link to it
    assert 'width="420"' in imgs[0] and 'alt="samples after the last epoch"' in imgs[0]
    assert "figures/" not in page and "missing figure: gone.png" in page
