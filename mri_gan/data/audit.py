"""`run_audit`: what is in a dataset, what cannot be read, and which files duplicate or leak.

Per split and class: files, decoded, unreadable (with the reason), formats, modes and a size
histogram; exact duplicates (SHA-256 of the bytes), near duplicates (256-bit pHash of the cropped image
within `data.near_threshold`, byte-identical pairs excluded), and leaks: test files that are an
exact or near copy of a training file. Paths in the report are relative to ROOT.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict

from mri_gan.data.analyze import Params, analyze_files
from mri_gan.data.discover import discover
from mri_gan.data.duplicates import exact_groups, leaks, near_pairs
from mri_gan.data.hashing import as_array, distance_histogram
from mri_gan.utils import skipped_lines

SPLIT_NAMES = {"train": "train", "test": "test", "": "all"}


def _split_stats(items, recs) -> dict:
    stats: dict = defaultdict(lambda: defaultdict(lambda: {
        "files": 0, "decoded": 0, "unreadable": 0, "formats": Counter(), "modes": Counter(), "sizes": Counter()}))
    for it, r in zip(items, recs):
        s = stats[SPLIT_NAMES[it.split]][it.cls]
        s["files"] += 1
        if r["reason"] is None:
            s["decoded"] += 1
            s["formats"][r["format"] or "?"] += 1
            s["modes"][r["mode"] or "?"] += 1
            s["sizes"][f"{r['width']}x{r['height']}"] += 1
        else:
            s["unreadable"] += 1
    return {sp: {c: {k: (dict(v.most_common()) if isinstance(v, Counter) else v) for k, v in st.items()}
                 for c, st in sorted(d.items())} for sp, d in stats.items()}


def run_audit(root, data_cfg, workers: int | None = None) -> dict:
    """Audit ROOT (Kaggle or plain layout); returns the JSON-ready report."""
    t0 = time.time()
    found = discover(root)
    items = found.items
    recs = analyze_files([it.path for it in items], Params.from_cfg(data_cfg),
                         data_cfg.workers if workers is None else workers, desc="audit")
    rel = [it.rel for it in items]
    sha = [r["sha256"] for r in recs]
    hashes = [r["hash"] for r in recs]
    splits = [it.split for it in items]
    th = int(data_cfg.near_threshold)

    exact = exact_groups(sha)
    near = near_pairs(hashes, sha, th)
    leak = leaks(splits, hashes, sha, th)
    decoded_hashes = as_array([h for h in hashes if h is not None])
    unreadable = [{"path": rel[i], "reason": r["reason"]} for i, r in enumerate(recs) if r["reason"]]

    leaked_exact = {d["test"] for d in leak if d["kind"] == "exact"}
    leaked_near = {d["test"] for d in leak if d["kind"] == "near"} - leaked_exact
    cls_of = [it.cls for it in items]
    summary = {
        "files": len(items),
        "decoded": len(items) - len(unreadable),
        "unreadable": len(unreadable),
        "byte_distinct": len({s for s in sha if s is not None}),
        "exact_duplicate_groups": len(exact),
        "exact_extra_copies": sum(len(g) - 1 for g in exact),
        "exact_cross_class_groups": sum(1 for g in exact if len({cls_of[i] for i in g}) > 1),
        "near_duplicate_pairs": len(near),
        "near_duplicate_files": len({i for p in near for i in p[:2]}),
        "near_cross_class_pairs": sum(1 for i, j, _ in near if cls_of[i] != cls_of[j]),
        "leak_pairs": len(leak),
        "leaked_test_files": len(leaked_exact | leaked_near),
        "leaked_test_files_exact": len(leaked_exact),
        "leaked_test_files_near_only": len(leaked_near),
        "leaked_test_files_exact_by_class": dict(sorted(Counter(cls_of[i] for i in leaked_exact).items())),
    }
    formats, modes, sizes = Counter(), Counter(), Counter()
    for r in recs:
        if r["reason"] is None:
            formats[r["format"] or "?"] += 1
            modes[r["mode"] or "?"] += 1
            sizes[f"{r['width']}x{r['height']}"] += 1
    mismatched = [rel[i] for i, r in enumerate(recs) if r["format"] and not _ext_matches(rel[i], r["format"])]
    return {
        "root": found.root,
        "layout": found.layout,
        "files": len(items),
        "decoded": summary["decoded"],
        "unreadable": unreadable,
        "classes": found.classes,
        "empty_class_folders": found.empty_classes,
        "ignored": found.ignored,
        "summary": summary,
        "formats": dict(formats.most_common()),
        "format_extension_mismatch": mismatched,
        "modes": dict(modes.most_common()),
        "distinct_sizes": len(sizes),
        "sizes_top": dict(sizes.most_common(10)),
        "per_split": _split_stats(items, recs),
        "near_threshold": th,
        "hash": "pHash 256-bit of the margin-cropped, square-padded image",
        "hamming_histogram": distance_histogram(decoded_hashes).tolist(),
        "exact_duplicates": [[rel[i] for i in g] for g in exact],
        "near_duplicates": [{"a": rel[i], "b": rel[j], "distance": d} for i, j, d in near],
        "leaks": [{"test": rel[d["test"]], "train": rel[d["train"]], "kind": d["kind"], "distance": d["distance"]}
                  for d in leak],
        "seconds": round(time.time() - t0, 2),
    }


_EXT = {"JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"}, "PNG": {".png"}, "BMP": {".bmp", ".dib"},
        "TIFF": {".tif", ".tiff"}, "DICOM": {".dcm", ".dicom", ""}, "GIF": {".gif"}, "WEBP": {".webp"}}


def _ext_matches(rel: str, fmt: str) -> bool:
    return os.path.splitext(rel)[1].lower() in _EXT.get(fmt, {os.path.splitext(rel)[1].lower()})


def format_summary(report: dict) -> str:
    """Human-readable summary of an audit report (what `mrigan-tf audit` prints)."""
    s = report["summary"]
    lines = [f"audit of {report['root']} ({report['layout']} layout, {report['seconds']} s)",
             f"files: {s['files']}  decoded: {s['decoded']}  unreadable: {s['unreadable']}  "
             f"byte-distinct: {s['byte_distinct']}"]
    for sp, d in report["per_split"].items():
        for c, st in d.items():
            top = ", ".join(f"{k} {v}" for k, v in list(st["sizes"].items())[:2])
            modes = ", ".join(f"{k} {v}" for k, v in st["modes"].items())
            lines.append(f"  {sp:5s} {c:12s} files {st['files']:5d}  decoded {st['decoded']:5d}  "
                         f"unreadable {st['unreadable']:3d}  modes [{modes}]  sizes [{top}, ...]")
    lines.append(f"formats: {report['formats']}; format differs from extension: "
                 f"{len(report['format_extension_mismatch'])} file(s)")
    lines.append(f"modes: {report['modes']}; {report['distinct_sizes']} distinct sizes, top: "
                 + ", ".join(f"{k} {v}" for k, v in list(report["sizes_top"].items())[:3]))
    lines.append(f"exact duplicates: {s['exact_duplicate_groups']} groups, {s['exact_extra_copies']} extra copies "
                 f"({s['exact_cross_class_groups']} groups across classes)")
    lines.append(f"near duplicates (pHash-256 Hamming <= {report['near_threshold']}, not byte-identical): "
                 f"{s['near_duplicate_pairs']} pairs over {s['near_duplicate_files']} files "
                 f"({s['near_cross_class_pairs']} pairs across classes)")
    lines.append(f"leaks (test file duplicating a training file): {s['leaked_test_files']} test files = "
                 f"{s['leaked_test_files_exact']} exact {s['leaked_test_files_exact_by_class']} + "
                 f"{s['leaked_test_files_near_only']} near only ({s['leak_pairs']} pairs)")
    lines += skipped_lines(report["unreadable"], report["empty_class_folders"], "path", "unreadable", 20,
                           "unreadable (see --json)")
    if report["ignored"]:
        lines.append(f"  ignored {len(report['ignored'])} hidden/stray file(s), e.g. {report['ignored'][0]}")
    return "\n".join(lines)
