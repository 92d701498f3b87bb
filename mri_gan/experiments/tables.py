"""Result tables written three ways (Markdown, CSV, JSON) from one list of row dicts."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from mri_gan.experiments.document import table_markdown
from mri_gan.utils import atomic_write_text, write_json


def fmt_mean_std(d: dict | None, digits: int = 3) -> str:
    """{'mean': m, 'std': s} -> 'm ± s' (blank when missing)."""
    if not d or d.get("mean") is None:
        return ""
    m, s = _num(d.get("mean")), _num(d.get("std"))
    if m is None:
        return ""
    if s is None or not math.isfinite(s):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def fmt_ci(d: dict | None, digits: int = 3) -> str:
    """{'mean': m, 'ci95': [lo, hi]} -> 'm [lo, hi]'."""
    if not d or d.get("mean") is None:
        return ""
    m = _num(d["mean"])
    ci = d.get("ci95")
    if ci and all(_num(c) is not None and math.isfinite(_num(c)) for c in ci):
        return f"{m:.{digits}f} [{_num(ci[0]):.{digits}f}, {_num(ci[1]):.{digits}f}]"
    return f"{m:.{digits}f}"


def _num(v):
    if v is None:
        return None
    try:
        return float(v)  # also parses "inf"
    except (TypeError, ValueError):
        return None


# Table VI (compare): (key in a row, header, digits, better: "high" | "low" | None)
TABLE6_COLUMNS = (
    ("ssim", "SSIM", 4, "high"),
    ("psnr", "PSNR (dB)", 2, "high"),
    ("fid", "FID", 2, "low"),
    ("kid", "KID", 3, "low"),
    ("precision", "Precision", 3, "high"),
    ("recall", "Recall", 3, "high"),
    ("copy_rate", "Copy rate", 3, None),
    ("ms_ssim_fake", "MS-SSIM fakes", 3, None),
    ("train_s", "Train time (s)", 0, None),
)
_SPREAD = {"ssim": "ssim_std", "psnr": "psnr_std", "kid": "kid_std"}  # shown as "mean ± std"


def table6_cells(rows: list[dict], by_size: bool = False) -> tuple[list[str], list[list[str]]]:
    """The one rendering of Table VI: (header, formatted cells) from numeric rows (compare's
    `table_row`s, plus `size` when `by_size`). Per category (and size), the best value of each
    column with a direction is in bold."""
    header = (["Size"] if by_size else []) + ["Category", "Method"] + [c[1] for c in TABLE6_COLUMNS]
    cells = []
    groups = dict.fromkeys((r.get("size") if by_size else None, r["category"]) for r in rows)
    for size, cls in groups:
        group = [r for r in rows if (r.get("size") if by_size else None, r["category"]) == (size, cls)]
        best = {}
        for key, _, _, better in TABLE6_COLUMNS:
            vals = [_num(r.get(key)) for r in group if _num(r.get(key)) is not None]
            if better and len(vals) > 1 and len(set(vals)) > 1:
                best[key] = max(vals) if better == "high" else min(vals)
        for r in group:
            row = ([str(size)] if by_size else []) + [cls, r["method"]]
            for key, _, digits, _ in TABLE6_COLUMNS:
                v = _num(r.get(key))
                if v is None:
                    row.append("n/a")
                    continue
                text = f"{v:.{digits}f}"
                spread = _num(r.get(_SPREAD.get(key)))
                if spread is not None:
                    text += f" ± {spread:.{digits}f}"
                row.append(f"**{text}**" if best.get(key) == v else text)
            cells.append(row)
    return header, cells


def write_table(out_dir: str | Path, name: str, columns: list[str], rows: list[dict], title: str = "",
                notes: str = "", display: tuple[list[str], list[list[str]]] | None = None) -> dict:
    """Write `name.md`, `name.csv`, `name.json` under `out_dir`; return the JSON payload. The CSV
    and JSON carry `rows` as they are (numbers stay numbers); `display` (header, formatted
    cells), when given, is what the Markdown shows instead of the raw rows."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"title": title, "columns": columns, "rows": rows, "notes": notes}
    write_json(out_dir / f"{name}.json", payload)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in columns})
    atomic_write_text(out_dir / f"{name}.csv", buf.getvalue())
    head, cells = display or (columns, [[r.get(c, "") for c in columns] for r in rows])
    md = (f"## {title}\n\n" if title else "") + table_markdown(head, cells)
    if notes:
        md += f"\n\n{notes}"
    atomic_write_text(out_dir / f"{name}.md", md + "\n")
    return payload
