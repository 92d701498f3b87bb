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


def fmt_sig(v, sig: int = 3) -> str:
    """`v` to `sig` significant figures, never in exponent form: 18.2677 -> '18.3', 0.203289 ->
    '0.203', 601.88 -> '602'; blank when missing or not finite."""
    v = _num(v)
    if v is None or not math.isfinite(v):
        return ""
    if v == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(v))))
    return f"{v:.{decimals}f}"


def spread_decimals(spread, max_decimals: int = 4) -> int | None:
    """Decimals that show `spread` (a std or CI half-width) to two significant figures: the
    places a mean quoted beside it can mean. None when there is no usable spread."""
    spread = _num(spread)
    if spread is None or not math.isfinite(spread) or spread <= 0:
        return None
    return min(max_decimals, max(0, 1 - math.floor(math.log10(spread))))


def fmt_pm(mean, spread, sig: int = 3) -> str:
    """'mean ± spread' rounded to the spread's second significant figure (56 ± 30,
    0.341 ± 0.072); `sig` significant figures when there is no spread."""
    m = _num(mean)
    if m is None or not math.isfinite(m):
        return ""
    d = spread_decimals(spread)
    if d is None:
        return fmt_sig(m, sig)
    return f"{m:.{d}f} ± {_num(spread):.{d}f}"


def count_decimals(n) -> int:
    """Decimals of a share of `n` items that still mean something: one item moves it by 1/n,
    so 10 items: 1 decimal, 11-100: 2, more: 3 (never more: a third decimal is already below
    any sampling error of a share)."""
    n = _num(n)
    if n is None or n < 2:
        return 2
    return min(3, max(1, math.ceil(math.log10(n) - 1e-9)))


def fmt_share(v, n) -> str:
    """A share (accuracy, recall, copy rate, ...) of `n` items, rounded by `count_decimals`."""
    v = _num(v)
    if v is None or not math.isfinite(v):
        return ""
    return f"{v:.{count_decimals(n)}f}"


def _num(v):
    if v is None:
        return None
    try:
        return float(v)  # also parses "inf"
    except (TypeError, ValueError):
        return None


# Table VI (compare): (key in a row, header, better: "high" | "low" | None)
TABLE6_COLUMNS = (
    ("ssim", "SSIM", "high"),
    ("psnr", "PSNR (dB)", "high"),
    ("fid", "FID", "low"),
    ("kid", "KID", "low"),
    ("precision", "Precision", "high"),
    ("recall", "Recall", "high"),
    ("copy_rate", "Copy rate", None),
    ("ms_ssim_fake", "MS-SSIM fakes", None),
    ("train_s", "Train time (s)", None),
)
_SPREAD = {"ssim": "ssim_std", "psnr": "psnr_std", "kid": "kid_std"}  # shown as "mean ± std"
SHARES = {"precision", "recall", "coverage", "copy_rate", "copy_rate_features"}  # shares of the n fakes or reals


def table6_text(key: str, row: dict) -> str:
    """One Table VI cell of `row` (compare's numbers): mean ± std rounded to the std, shares of
    the row's `n` images rounded to what one image changes, the rest to 3 significant figures."""
    v = _num(row.get(key))
    if v is None or not math.isfinite(v):
        return "n/a"
    if key in _SPREAD:
        return fmt_pm(v, row.get(_SPREAD[key]))
    if key in SHARES:
        return fmt_share(v, row.get("n"))
    if key == "train_s":
        return f"{v:.0f}"
    return fmt_sig(v)


def shown_value(text: str) -> float | None:
    """The number a formatted cell shows ('0.61 ± 0.01' -> 0.61, '**30.5**' -> 30.5)."""
    head = text.strip("*").split(" ", 1)[0] if text else ""
    return _num(head)


def leaders(values: dict, better: str) -> list:
    """The keys of `values` (key -> shown number, None = missing) holding the best shown
    number, or [] when fewer than two are present or all present ones are equal: a tie, at
    zero or anywhere else, has no best."""
    present = {k: v for k, v in values.items() if v is not None and math.isfinite(v)}
    if len(present) < 2 or len(set(present.values())) == 1:
        return []
    best = max(present.values()) if better == "high" else min(present.values())
    return [k for k, v in present.items() if v == best]


def table6_cells(rows: list[dict], by_size: bool = False) -> tuple[list[str], list[list[str]]]:
    """The one rendering of Table VI: (header, formatted cells) from numeric rows (compare's
    `table_row`s, plus `size` when `by_size`). Per category (and size), the best shown value of
    each column with a direction is in bold; a tie has no best."""
    header = (["Size"] if by_size else []) + ["Category", "Method"] + [c[1] for c in TABLE6_COLUMNS]
    cells = []
    groups = dict.fromkeys((r.get("size") if by_size else None, r["category"]) for r in rows)
    for size, cls in groups:
        group = [r for r in rows if (r.get("size") if by_size else None, r["category"]) == (size, cls)]
        texts = [{key: table6_text(key, r) for key, _, _ in TABLE6_COLUMNS} for r in group]
        bold = {key: set(leaders({i: shown_value(t[key]) for i, t in enumerate(texts)}, better))
                for key, _, better in TABLE6_COLUMNS if better}
        for i, (r, t) in enumerate(zip(group, texts)):
            row = ([str(size)] if by_size else []) + [cls, r["method"]]
            row += [f"**{t[key]}**" if i in bold.get(key, ()) else t[key] for key, _, _ in TABLE6_COLUMNS]
            cells.append(row)
    return header, cells


def table6_by_class(rows: list[dict], by_size: bool = False) -> list[tuple[str, list[str], list[list[str]]]]:
    """Table VI turned on its side for reading: one small table per category (and size), a row
    per metric and a column per method, the best shown value in bold (ties have none).
    Returns [(title, header, cells)]."""
    header6, cells6 = table6_cells(rows, by_size)
    first = 3 if by_size else 2
    out = []
    groups = dict.fromkeys(tuple(c[:first - 1]) for c in cells6)
    for key in groups:
        group = [c for c in cells6 if tuple(c[:first - 1]) == key]
        title = f"{key[-1]}" + (f", {key[0]} px" if by_size else "")
        header = ["metric"] + [c[first - 1] for c in group]
        cells = [[name] + [c[first + j] for c in group] for j, name in enumerate(header6[first:])]
        out.append((title, header, cells))
    return out


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
