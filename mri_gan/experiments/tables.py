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


def write_table(out_dir: str | Path, name: str, columns: list[str], rows: list[dict], title: str = "",
                notes: str = "") -> dict:
    """Write `name.md`, `name.csv`, `name.json` under `out_dir`; return the JSON payload."""
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
    md = (f"## {title}\n\n" if title else "") + table_markdown(columns, [[r.get(c, "") for c in columns] for r in rows])
    if notes:
        md += f"\n\n{notes}"
    atomic_write_text(out_dir / f"{name}.md", md + "\n")
    return payload
