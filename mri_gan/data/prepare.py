"""`run_prepare`: ROOT -> PREP/train|test/<class>/*.png (uint8, size x size) + prepare.json + config.yaml.

Splits (`data.split`):
- shipped: the dataset's own Training/Testing split (plain layout: stratified seeded split), all kept;
- dedup (default): the same split, then test files that duplicate a training file (exact or near,
  `data.drop_leaks`) are dropped, and duplicates inside a split and class are kept once
  (`data.dedup_within`; the first path in sorted order is kept);
- grouped: Training+Testing pooled, images linked by `data.group_threshold` form groups (connected
  components), groups split 80/20 stratified and seeded; then the same dedup rules.

Every file found is accounted for: written, unreadable (with the reason) or dropped (with the reason
and the file it duplicates), and the counts in prepare.json add up. Output is deterministic.

Re-runs: prepare.json records a key over the inputs (paths, sizes, mtimes) and every parameter;
when the key matches and the files are there, nothing is redone. Crash safety: images go to
PREP/.staging/ first, the old tree and prepare.json are removed, the staged tree is moved in,
and prepare.json is written last, so a PREP without prepare.json is an incomplete one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np

from mri_gan.data.analyze import Params, analyze_files
from mri_gan.data.discover import discover
from mri_gan.data.duplicates import all_links, leaks
from mri_gan.data.hashing import as_array
from mri_gan.data.split import group_report, grouped_split, hash_groups, stratified_test_mask
from mri_gan.errors import MriGanError
from mri_gan.utils import read_json, skipped_lines, write_json

FORMAT_VERSION = 1
_OURS = {"train", "test", "prepare.json", "config.yaml", ".staging"}
SPLITS = ("shipped", "dedup", "grouped")


def _key(found, data_cfg, size: int) -> str:
    h = hashlib.sha256()
    params = {k: getattr(data_cfg, k) for k in ("split", "test_fraction", "seed", "drop_leaks", "dedup_within",
                                                "near_threshold", "group_threshold", "crop_threshold", "pad",
                                                "min_side")}
    h.update(json.dumps({"v": FORMAT_VERSION, "size": size, "params": params}, sort_keys=True).encode())
    for it in found.items:
        try:
            st = os.stat(it.path)
        except OSError:  # a broken symbolic link (discover lists it; it is reported unreadable)
            st = os.lstat(it.path)
        h.update(f"{it.rel}\0{it.split}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _up_to_date(out: Path, key: str) -> dict | None:
    info_path = out / "prepare.json"
    if not info_path.is_file():
        return None
    try:
        info = read_json(info_path)
    except (OSError, ValueError):
        return None
    if info.get("key") != key:
        return None
    if not all((out / f).is_file() for f in info.get("sources", {})):
        return None
    return info


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise MriGanError(f"--out {out} exists and is not a directory")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in _OURS)
        if foreign:
            raise MriGanError(f"--out {out} holds files that prepare did not write ({', '.join(foreign[:3])}); "
                              f"use an empty or new directory")


def _assign(found, recs, data_cfg, ok: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, dict | None]:
    """'train'/'test' per item (only meaningful where ok), and the groups report for grouped."""
    n = len(found.items)
    split = np.array([it.split for it in found.items], dtype=object)
    groups_info = None
    if data_cfg.split == "grouped":
        idx = np.flatnonzero(ok)
        groups = hash_groups(as_array([recs[i]["hash"] for i in idx]), int(data_cfg.group_threshold))
        is_test = grouped_split(groups, labels[idx], data_cfg.test_fraction, data_cfg.seed)
        split[:] = ""
        split[idx] = np.where(is_test, "test", "train")
        groups_info = group_report(groups, labels[idx], is_test)
        groups_info["threshold"] = int(data_cfg.group_threshold)
        # groups that contain files from both shipped splits: the shipped split's leakage
        if found.layout == "kaggle":
            shipped = np.array([found.items[i].split for i in idx])
            groups_info["groups_across_shipped_split"] = int(sum(
                1 for g in np.unique(groups) if len(set(shipped[groups == g])) > 1))
    elif found.layout == "plain":
        is_test = stratified_test_mask(labels, data_cfg.test_fraction, data_cfg.seed)
        split = np.where(is_test, "test", "train").astype(object)
    assert len(split) == n
    return split, groups_info


def _dedup(found, recs, split, ok, data_cfg) -> dict[int, dict]:
    """index -> drop record, for leaked test files and in-split copies."""
    rel = [it.rel for it in found.items]
    cls = [it.cls for it in found.items]
    sha = [r["sha256"] if ok[i] else None for i, r in enumerate(recs)]
    hashes = [r["hash"] if ok[i] else None for i, r in enumerate(recs)]
    th = int(data_cfg.near_threshold)
    dropped: dict[int, dict] = {}
    if data_cfg.drop_leaks:
        for d in leaks(list(split), hashes, sha, th):
            if d["test"] not in dropped:
                dropped[d["test"]] = {"reason": f"leak-{d['kind']}", "duplicates": rel[d["train"]],
                                      "distance": d["distance"]}
    if data_cfg.dedup_within:
        # Greedy in sorted path order: a file is kept unless it duplicates a file already kept, so
        # a chain A~B~C of near copies keeps A and C when A and C are not themselves duplicates.
        adj: dict[int, set[int]] = {}
        for i, j, _ in all_links(hashes, sha, th):
            if split[i] == split[j] and cls[i] == cls[j] and i not in dropped and j not in dropped:
                adj.setdefault(i, set()).add(j)
                adj.setdefault(j, set()).add(i)
        kept: set[int] = set()
        for i in sorted(adj, key=lambda k: rel[k]):
            first = min((k for k in adj[i] if k in kept), key=lambda k: rel[k], default=None)
            if first is None:
                kept.add(i)
            else:
                kind = "exact" if sha[i] == sha[first] else "near"
                dropped[i] = {"reason": f"duplicate-{kind}", "duplicates": rel[first]}
    return dropped


def _names(found, recs, split, keep) -> dict[int, str]:
    """index -> output path 'train/<class>/<stem>.png', unique and deterministic."""
    names: dict[int, str] = {}
    used: set[str] = set()
    for i in sorted(np.flatnonzero(keep), key=lambda k: found.items[k].rel):
        it = found.items[i]
        stem = Path(it.rel).stem
        name = f"{split[i]}/{it.cls}/{stem}.png"
        if name in used:
            name = f"{split[i]}/{it.cls}/{stem}-{recs[i]['sha256'][:10]}.png"
        used.add(name)
        names[int(i)] = name
    return names


def _counts(found, mask, split=None) -> dict:
    c = Counter()
    for i in np.flatnonzero(mask):
        sp = split[i] if split is not None else (found.items[i].split or "all")
        c[(sp, found.items[i].cls)] += 1
    out: dict = {}
    for (sp, cl), v in sorted(c.items()):
        out.setdefault(sp, {})[cl] = v
    for sp in out:
        out[sp]["total"] = sum(out[sp].values())
    return out


def run_prepare(root, out, cfg, force: bool = False) -> dict:
    """Prepare ROOT into OUT at cfg.data.size; returns (and writes) the prepare.json dict."""
    t0 = time.time()
    data_cfg = cfg.data
    size = int(data_cfg.size)
    if data_cfg.split not in SPLITS:
        raise MriGanError(f"data.split must be one of {', '.join(SPLITS)}, got {data_cfg.split!r}")
    if not 8 <= size <= 4096:
        raise MriGanError(f"data.size must be between 8 and 4096 px, got {size}")
    if not 0.0 < data_cfg.test_fraction < 1.0:
        raise MriGanError(f"data.test_fraction must be in (0, 1), got {data_cfg.test_fraction}")
    out = Path(out)
    _check_out(out)
    found = discover(root)
    key = _key(found, data_cfg, size)
    if not force:
        info = _up_to_date(out, key)
        if info is not None:
            info["up_to_date"] = True
            return info

    recs = analyze_files([it.path for it in found.items], Params.from_cfg(data_cfg, size), data_cfg.workers,
                         desc=f"prepare {size}px")
    ok = np.array([r["reason"] is None for r in recs])
    if not ok.any():
        raise MriGanError(f"none of the {len(recs)} files under {root} could be read "
                          f"(first: {found.items[0].rel}: {recs[0]['reason']})")
    classes = sorted({found.items[i].cls for i in np.flatnonzero(ok)})
    labels = np.array([classes.index(it.cls) if it.cls in classes else -1 for it in found.items])
    split, groups_info = _assign(found, recs, data_cfg, ok, labels)
    dropped = _dedup(found, recs, split, ok, data_cfg) if data_cfg.split != "shipped" else {}
    keep = ok.copy()
    keep[list(dropped)] = False
    names = _names(found, recs, split, keep)
    for sp in ("train", "test"):
        if not any(split[i] == sp for i in names):
            raise MriGanError(f"the {sp} split would be empty ({int(ok.sum())} readable files); "
                              f"add images or change data.test_fraction")

    # write: staging dir -> move in -> prepare.json last
    staging = out / ".staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    from mri_gan.utils import progress

    for i, name in progress(sorted(names.items(), key=lambda kv: kv[1]), total=len(names), desc="writing"):
        p = staging / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(recs[i]["png"])
    for sp in ("train", "test"):
        (staging / sp).mkdir(exist_ok=True)
    if (out / "prepare.json").exists():
        (out / "prepare.json").unlink()
    for sp in ("train", "test"):
        if (out / sp).exists():
            shutil.rmtree(out / sp)
        os.replace(staging / sp, out / sp)
    shutil.rmtree(staging)
    cfg.save(out / "config.yaml")

    rel = [it.rel for it in found.items]
    info = {
        "format_version": FORMAT_VERSION,
        "root": found.root,
        "layout": found.layout,
        "size": size,
        "classes": classes,
        "split": data_cfg.split,
        "seed": int(data_cfg.seed),
        "test_fraction": float(data_cfg.test_fraction),
        "drop_leaks": bool(data_cfg.drop_leaks) and data_cfg.split != "shipped",
        "dedup_within": bool(data_cfg.dedup_within) and data_cfg.split != "shipped",
        "near_threshold": int(data_cfg.near_threshold),
        "transform": "crop margin (threshold %d, largest contour) -> pad to square -> resize %dx%d (INTER_AREA)"
                     % (data_cfg.crop_threshold, size, size) if data_cfg.pad else "crop -> stretch",
        "counts": {
            "found": _counts(found, np.ones(len(rel), bool)),
            "unreadable": int((~ok).sum()),
            "assigned": _counts(found, ok, split),
            "dropped": _counts(found, np.isin(np.arange(len(rel)), list(dropped)), split),
            "out": _counts(found, keep, split),
            "dropped_by_reason": dict(sorted(Counter(d["reason"] for d in dropped.values()).items())),
        },
        "totals": {"found": len(rel), "unreadable": int((~ok).sum()), "dropped": len(dropped),
                   "train": sum(1 for n in names.values() if n.startswith("train/")),
                   "test": sum(1 for n in names.values() if n.startswith("test/"))},
        "groups": groups_info,
        "unreadable": [{"file": rel[i], "reason": recs[i]["reason"]} for i in np.flatnonzero(~ok)],
        "dropped": [{"file": rel[i], "split": split[i], "class": found.items[i].cls, **d}
                    for i, d in sorted(dropped.items(), key=lambda kv: rel[kv[0]])],
        "empty_class_folders": found.empty_classes,
        "ignored": found.ignored,
        "sources": {name: rel[i] for i, name in sorted(names.items(), key=lambda kv: kv[1])},
        "key": key,
        "seconds": round(time.time() - t0, 2),
    }
    t = info["totals"]
    assert t["train"] + t["test"] + t["dropped"] + t["unreadable"] == t["found"], t
    write_json(out / "prepare.json", info)
    info["up_to_date"] = False
    return info


def format_summary(info: dict) -> str:
    """Human-readable summary of a prepare.json (what `mrigan-tf prepare` prints)."""
    t = info["totals"]
    lines = [f"prepared {info['root']} -> {info['size']}x{info['size']} px, split {info['split']}"
             + (" (up to date, nothing redone)" if info.get("up_to_date") else f" in {info['seconds']} s"),
             f"found {t['found']} = train {t['train']} + test {t['test']} + dropped {t['dropped']} + "
             f"unreadable {t['unreadable']}"]
    out = info["counts"]["out"]
    for sp in ("train", "test"):
        row = out.get(sp, {})
        lines.append(f"  {sp:5s} " + "  ".join(f"{c} {row.get(c, 0)}" for c in info["classes"])
                     + f"  (total {row.get('total', 0)})")
    if info["counts"]["dropped_by_reason"]:
        lines.append("dropped: " + ", ".join(f"{k} {v}" for k, v in info["counts"]["dropped_by_reason"].items()))
    g = info.get("groups")
    if g:
        lines.append(f"groups (pHash distance <= {g['threshold']}): {g['groups']} groups, {g['singletons']} "
                     f"singletons, largest {g['largest']}; train {g['train_groups']} / test {g['test_groups']} groups,"
                     f" straddling {g['straddling_groups']}")
    lines += skipped_lines(info["unreadable"], info["empty_class_folders"], "file", "skipped unreadable", 10,
                           "(see prepare.json)")
    return "\n".join(lines)
