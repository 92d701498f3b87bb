"""The study's tables as rows of numbers (paper Tables III-VI) and the flags a reader needs on
them (FID from fewer images than feature dimensions, KID whose subsets disagree, FID outliers).

Reads only what the stages wrote (synthesize manifests, evaluation JSONs, classifier results.json,
compare's table6.json) through the study's layout (`mri_gan.experiments.layout.StudyLayout`, the
argument called `study` below); `report.py` renders them.
"""

from __future__ import annotations

import math
from pathlib import Path

from mri_gan.experiments.tables import TABLE6_COLUMNS, fmt_ci, fmt_mean_std
from mri_gan.utils import read_json

T3_COLS = ["size", "set", "class", "images"]
T4_COLS = ["size", "set", "class", "fakes", "reals", "psnr", "mse", "ssim", "ssim_random", "fid", "kid",
           "precision", "recall", "coverage", "ms_ssim_fake", "ms_ssim_real", "copy_rate"]
T5_COLS = ["size", "split", "training", "epoch", "seeds", "accuracy", "loss", "f1_macro", "balanced_accuracy", "auc_macro",
           "ece", "accuracy_vs_real"]
T6_COLS = (["size", "category", "method", "kind"] + [k for k, *_ in TABLE6_COLUMNS]
           + ["ssim_std", "psnr_std", "kid_std", "n"])



def _f(v, digits=4):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return ""
    if math.isnan(v):
        return ""
    return f"{v:.{digits}f}"


def finite(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def _count_manifest(syn: Path) -> int:
    m = syn / "manifest.csv"
    if not m.is_file():
        return 0
    return max(0, len(m.read_text(encoding="utf-8").strip().splitlines()) - 1)


def table3(study) -> list[dict]:
    return [{"size": size, "set": f"n{rowname}", "class": cls, "images": _count_manifest(study.paths.syn(size, rowname, cls))}
            for size, _, _, rowname, _, cls in study.synthetic_units()]


def table4(study) -> list[dict]:
    rows = []
    for size, _, _, rowname, _, cls in study.synthetic_units():
        p = study.paths.eval(size, rowname, cls)
        if not p.is_file():
            continue
        r = read_json(p)
        rows.append({
            "size": size, "set": f"n{rowname}", "class": cls,
            "fakes": r.get("counts", {}).get("fake"), "reals": r.get("counts", {}).get("real"),
            "psnr": fmt_mean_std(r["psnr"]["nearest"], 2), "mse": fmt_mean_std(r["mse"]["nearest"], 4),
            "ssim": fmt_mean_std(r["ssim"]["nearest"], 3), "ssim_random": fmt_mean_std(r["ssim"]["random"], 3),
            "fid": _f(r.get("fid"), 2), "kid": fmt_mean_std(r.get("kid"), 4),
            "precision": _f(r.get("precision"), 3), "recall": _f(r.get("recall"), 3),
            "coverage": _f(r.get("coverage"), 3),
            "ms_ssim_fake": _f(r.get("ms_ssim_fake"), 3), "ms_ssim_real": _f(r.get("ms_ssim_real"), 3),
            "copy_rate": _f(r.get("copy_rate"), 3),
        })
    return rows


def classifier_runs(study) -> list[tuple[int, str, str, Path]]:
    """(size, split, training label, run dir) of every finished classifier run."""
    return [(size, split, label, run) for size, split, label, run, _ in study.classifier_runs()
            if (run / "results.json").is_file()]


def paired_vs_real(study, size: int, run: dict) -> dict | None:
    """Paired difference (this run - real-only, same seeds) per epoch, from the real run of the same split."""
    from mri_gan.classifier.stats import paired_difference

    if "paired_difference" in run:
        return run["paired_difference"]
    base = study.paths.clf(size, study.cfg.study.split, "real") / "results.json"
    if not base.is_file():
        return None
    return paired_difference(run["runs"], read_json(base)["runs"], run["epochs"])


def table5(study) -> list[dict]:
    rows = []
    for size, split, label, run_dir in classifier_runs(study):
        r = read_json(run_dir / "results.json")
        diff = None if label == "real" else paired_vs_real(study, size, r)
        for ep in r["epochs"]:
            s = r["summary"][str(ep)]
            d = (diff or {}).get(str(ep), {}).get("accuracy")
            rows.append({
                "size": size, "split": split, "training": label, "epoch": ep, "seeds": s["accuracy"]["n"],
                "accuracy": fmt_ci(s["accuracy"], 4), "loss": fmt_ci(s["loss"], 3),
                **{k: fmt_ci(s[k], 4) if k in s else "" for k in ("f1_macro", "balanced_accuracy", "auc_macro", "ece")},
                "accuracy_vs_real": fmt_ci(d, 4) if d else "",
            })
    return rows


def table6(study) -> list[dict]:
    """compare's Table VI rows of every size, numbers as compare wrote them (plus `size`)."""
    rows = []
    for size in study.cfg.study.sizes:
        p = study.paths.compare(size) / "table6.json"
        if not p.is_file():
            continue
        rows += [{"size": size, **{c: r.get(c) for c in T6_COLS if c != "size"}} for r in read_json(p)["rows"]]
    return rows


def eval_rows(study) -> list[tuple[int, object, str, dict]]:
    """(size, set name, class, evaluation JSON) of every evaluated synthetic set."""
    out = []
    for size, _, _, rowname, _, cls in study.synthetic_units():
        p = study.paths.eval(size, rowname, cls)
        if p.is_file():
            out.append((size, rowname, cls, read_json(p)))
    return out


def count_span(counts) -> str:
    """'40' or '30-40' (en dash) for a set of image counts."""
    lo, hi = min(counts), max(counts)
    return f"{lo}" if lo == hi else f"{lo}\u2013{hi}"


def feature_caveat(counts, dim) -> str | None:
    """Why FID (and KID's scale) cannot be read as an absolute number when sets of `counts`
    images are compared in `dim`-dimensional features, or None when they can."""
    counts = [int(c) for c in counts if c]
    if not counts or not dim or min(counts) >= dim:
        return None
    return (f"FID and KID come from {count_span(counts)} images per set in {dim}-dimensional features: with fewer images than "
            "dimensions the covariance in FID is singular and FID is inflated by estimator bias, so these values "
            "only rank sets of the same size against each other and are not comparable with published FIDs "
            "(10,000+ images, Inception features)")


def unresolved_kid(kid: dict | None) -> bool:
    """KID whose spread over subsets is at least half its mean: the subsets disagree."""
    m, s = finite((kid or {}).get("mean")), finite((kid or {}).get("std"))
    return m is not None and s is not None and s >= 0.5 * abs(m)


def fid_outliers(values: dict, factor: float = 3.0) -> dict:
    """Keys of `values` (key -> FID) whose FID is at least `factor` times the median of the others
    (three values or more): a set whose fakes sit far from its reals, or a broken class."""
    import statistics

    out = {}
    present = {k: v for k, v in values.items() if v is not None}
    if len(present) < 3:
        return out
    for k, v in present.items():
        med = statistics.median(x for kk, x in present.items() if kk != k)
        if med > 0 and v >= factor * med:
            out[k] = v / med
    return out
