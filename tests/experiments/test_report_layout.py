"""The study report as a reader gets it, checked without a browser: every table fits the page
(its narrowest layout, estimated from its cells, is under the page width), every figure is
shown at its own pixel size, numbers are rounded to what the data resolves, a tie names no
leader, and metrics the sample cannot support carry a caveat. Built from a study dir written
here with known numbers (no training)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from mri_gan.experiments.document import PAGE_WIDTH, NBSP, glue, png_size, table_min_width
from mri_gan.experiments.tables import (count_decimals, fmt_pm, fmt_share, fmt_sig, leaders, table6_by_class,
                                        table6_cells)

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]
# (fid, kid mean, kid std, precision, recall) per class: notumor is the broken class of a real demo run
EVAL = {"glioma": (27.42, 0.3413, 0.0722, 0.0, 0.0), "meningioma": (107.62, 2.1949, 0.4779, 1.0, 0.0),
        "notumor": (601.8815562546247, 55.94532248664734, 30.133615401394067, 1.0, 0.02564102564102564),
        "pituitary": (40.86, 0.6702, 0.0740, 0.025, 0.0)}


def test_rounding_rules_on_known_numbers():
    assert fmt_sig(18.267737417631707) == "18.3" and fmt_sig(0.20328941885482874) == "0.203"
    assert fmt_sig(601.8815562546247) == "602" and fmt_sig(0) == "0" and fmt_sig(None) == ""
    assert fmt_pm(55.94532248664734, 30.133615401394067) == "56 ± 30"  # the spread decides the places
    assert fmt_pm(0.34127590280308906, 0.07220096961963983) == "0.341 ± 0.072"
    assert fmt_pm(19.49230899810791, 0.8202955062510638) == "19.49 ± 0.82"
    assert fmt_pm(0.5, None) == "0.500" and fmt_pm(18.2677, 0) == "18.3"
    assert [count_decimals(n) for n in (10, 35, 100, 1311)] == [1, 2, 2, 3]  # one image moves a share by 1/n
    assert fmt_share(0.5142857142857142, 35) == "0.51" and fmt_share(0.95123, 1311) == "0.951"


def _t6(method, kind, fid, recall, ssim=0.3):
    return {"size": 32, "category": "glioma", "method": method, "kind": kind, "ssim": ssim, "ssim_std": 0.02,
            "psnr": 18.9, "psnr_std": 0.5, "fid": fid, "kid": 0.2, "kid_std": 0.04, "precision": 0.375,
            "recall": recall, "copy_rate": 0.0, "ms_ssim_fake": 0.62, "train_s": 15.8, "n": 40}


def test_a_tie_names_no_leader_and_nothing_is_bold():
    from mri_gan.experiments.report import compare_reading

    rows = [_t6("Proposed", "proposed", 18.267737417631707, 0.0, 0.2993), _t6("DCGAN", "dcgan", 27.42, 0.0, 0.4194)]
    (line,) = compare_reading(rows)
    assert "highest recall" not in line and "recall tied at 0.00 for Proposed, DCGAN: no leader" in line
    assert "lowest FID: Proposed (18.3; DCGAN 27.4)" in line and "18.2677" not in line
    assert "lowest KID" not in line  # 0.20 ± 0.04 for both: shown equal, no leader
    assert "highest nearest-real SSIM: DCGAN (0.419 ± 0.020" not in line and "DCGAN (0.419; Proposed 0.299)" in line
    assert leaders({"a": 0.0, "b": 0.0}, "high") == [] and leaders({"a": 1.0, "b": 1.0, "c": 0.5}, "high") == ["a", "b"]
    header, cells = table6_cells(rows)
    recall = header.index("Recall")
    assert [c[recall] for c in cells] == ["0.00", "0.00"]  # a tie at zero: no bold
    assert cells[0][header.index("FID")] == "**18.3**"
    (title, head, by_metric), = table6_by_class(rows, by_size=True)
    assert title == "glioma, 32 px" and head == ["metric", "Proposed", "DCGAN"] and len(by_metric) == len(header) - 2


def test_glue_keeps_a_value_and_its_interval_whole():
    assert glue("0.341 ± 0.072") == f"0.341{NBSP}±{NBSP}0.072"
    assert glue("0.51 [0.40, 0.62]") == f"0.51 [0.40,{NBSP}0.62]"  # may break before the CI, not inside it
    assert table_min_width(["metric"], [["0.51 [0.40, 0.62]"]]) < table_min_width(["metric"], [["0.51[0.40,0.62]xx"]])


# -- a study dir with known numbers ---------------------------------------------------------------
def _png(path, value, size=32):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((size, size), value, np.uint8)
    cv2.circle(img, (size // 2, size // 2), size // 3, min(255, value + 60), -1)
    cv2.imwrite(str(path), img)


def _summary(acc, n_seeds=1):
    def one(v):
        return {"n": n_seeds, "mean": v, "std": None, "ci95": None, "half_width": None, "values": [v]}

    return {"accuracy": one(acc), "loss": one(1.2345678), "f1_macro": one(acc - 0.02),
            "balanced_accuracy": one(acc + 0.01), "auc_macro": one(0.7912345), "ece": one(0.2345678)}


def _write_study(root):
    from mri_gan.config import load_config
    from mri_gan.experiments.layout import StudyLayout

    cfg = load_config(ROOT / "configs" / "quick.yaml", [])
    study = StudyLayout(cfg, root / "raw", root)
    rng = np.random.default_rng(0)
    for split in ("dedup", "shipped"):
        prep = study.paths.prep(32, split)
        prep.mkdir(parents=True)
        (prep / "prepare.json").write_text(json.dumps({"size": 32, "classes": CLASSES,
                                                       "totals": {"found": 200, "train": 159, "test": 35}}))
    for cls, (fid, kid, kid_std, precision, recall) in EVAL.items():
        n_fake = 30 if cls == "notumor" else 40
        syn = study.paths.syn(32, 40, cls)
        for i in range(n_fake):
            _png(syn / cls / f"{cls}_{i:06d}.png", int(rng.integers(20, 120)))
        (syn / "manifest.csv").write_text("file\n" + "".join(f"{cls}_{i:06d}.png\n" for i in range(n_fake)))
        for i in range(4):
            _png(study.paths.prep(32, "dedup") / "train" / cls / f"Tr-{i}.png", 60 + 10 * i)
        ev = {"counts": {"real": 40, "fake": n_fake, "train_real": 40}, "feature_dim": 256,
              "psnr": {"nearest": {"mean": 18.576456, "std": 1.1245}, "random": {"mean": 17.3, "std": 3.1}},
              "mse": {"nearest": {"mean": 0.014369, "std": 0.0066}, "random": {"mean": 0.05, "std": 0.03}},
              "ssim": {"nearest": {"mean": 0.41935, "std": 0.026472}, "random": {"mean": 0.26425, "std": 0.0721}},
              "fid": fid, "kid": {"mean": kid, "std": kid_std}, "precision": precision, "recall": recall,
              "coverage": 0.075, "ms_ssim_fake": 0.5959377, "ms_ssim_real": 0.2819013, "copy_rate": 0.0,
              "memorization": {"copy_threshold_ssim": 0.75, "closest_fakes": [
                  {"fake": i, "train": i % 4, "ssim": 0.47 - 0.01 * i, "fake_file": f"{cls}_{i:06d}.png",
                   "train_file": f"Tr-{i % 4}.png"} for i in range(8)]}}
        p = study.paths.eval(32, 40, cls)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(ev))
        run = study.paths.gan(32, cls)
        (run / "samples").mkdir(parents=True)
        _png(run / "samples" / "epoch_0150.png", 80, size=274)
        (run / "history.jsonl").write_text("".join(json.dumps({"epoch": e, "d_loss": 1 / e, "g_loss": 2 / e}) + "\n"
                                                   for e in range(1, 11)))
    for _, split, label, run_dir, _ in study.classifier_runs():
        run_dir.mkdir(parents=True)
        results = {"epochs": [5, 15], "seeds": [0], "seeds_done": [0],
                   "summary": {"5": _summary(0.4571428), "15": _summary(0.5142857142857142)},
                   "runs": [{"seed": 0, "epoch": e, "n": 35, "accuracy": 0.5} for e in (5, 15)]}
        if label != "real":
            results["paired_difference"] = {e: {"accuracy": {"n": 1, "mean": -0.0571428, "ci95": None}}
                                            for e in ("5", "15")}
        (run_dir / "results.json").write_text(json.dumps(results))
        y = np.arange(35) % 4
        probs = rng.dirichlet(np.ones(4), size=35)
        np.savez(run_dir / "test_predictions.npz", y_true=y, probs=probs, classes=np.array(CLASSES))
    t6 = [_t6("Proposed", "proposed", 18.267737417631707, 0.0), _t6("DCGAN", "dcgan", 27.421914524218924, 0.0)]
    study.paths.compare(32).mkdir(parents=True)
    (study.paths.compare(32) / "table6.json").write_text(json.dumps({"rows": t6, "meta": {}}))
    record = {"stages": {s: {"status": "ran", "seconds": 12.345} for s in ("fit", "classify")}}
    return study, record


class _Page(HTMLParser):
    """Tables (header + rows of cell texts) and images (width attribute, data URI) of a page."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from mri_gan.experiments.report import write_report

    root = tmp_path_factory.mktemp("study")
    study, record = _write_study(root)
    html_path = write_report(study, record)
    page = _Page()
    page.feed(html_path.read_text(encoding="utf-8"))
    return root, page, (root / "report.md").read_text(encoding="utf-8")


def test_every_table_fits_the_page(report):
    _, page, _ = report
    assert len(page.tables) >= 6
    for table in page.tables:
        header, rows = table[0], table[1:]
        width = table_min_width(header, rows)
        assert width <= PAGE_WIDTH, (round(width), header)
        assert len(header) <= 12, header
    table4 = next(t for t in page.tables if t[0][:2] == ["metric", "glioma"])
    assert [r[0] for r in table4][1:] == ["fakes / reals", "PSNR (dB), nearest real", "MSE, nearest real",
                                          "SSIM, nearest real", "SSIM, random real", "FID", "KID", "precision",
                                          "recall", "coverage", "MS-SSIM within fakes", "MS-SSIM within reals",
                                          "copy rate"]  # recall, coverage, MS-SSIM and copy rate are rows, not clipped columns


def test_figures_are_shown_at_their_own_size(report):
    import base64

    from mri_gan.experiments.report_figures import FIGURE_DPI

    _, page, _ = report
    assert len(page.images) >= 4 + 4 + 2  # samples, one figure per classifier run, copy audit, losses
    for img in page.images:
        data = base64.b64decode(img["src"].split(",", 1)[1])
        width = int.from_bytes(data[16:20], "big")
        assert int(img["width"]) == width <= PAGE_WIDTH, img.get("alt")  # never scaled down: text keeps its size
    figures = sorted((report[0] / "figures").glob("*.png"))
    assert {f.name.split("_")[0] for f in figures} == {"copies", "classifier", "gan"}
    assert all(png_size(f)[0] == 11 * FIGURE_DPI for f in figures)  # drawn at the width they are shown
    copies = next(f for f in figures if f.name.startswith("copies"))
    assert png_size(copies)[1] < 4 * 200  # a grid, a row per class: not a 1,600 px strip per class


def test_numbers_are_rounded_and_caveats_are_given(report):
    _, page, md = report
    table4 = next(t for t in page.tables if t[0][:2] == ["metric", "glioma"])
    fid = next(r for r in table4 if r[0] == "FID")
    kid = next(r for r in table4 if r[0] == "KID")
    assert fid[1:] == ["27.4", "108", "602 †", "40.9"] and kid[3] == f"56{NBSP}±{NBSP}30 †"
    assert "notumor: FID 602 is" in md and "KID 56 ± 30" in md
    assert "FID and KID come from 30\u201340 images per set in 256-dimensional features" in md
    assert not re.search(r"\d\.\d{5,}", md.split("## Table III")[0])  # no unrounded number in the summary
    assert "highest recall" not in md and "recall tied at 0.00" in md
    assert "> **Caveat.** FID and KID come from 40 images per set" in md.split("## Table VI")[1]  # compare's sets
    table5 = next(t for t in page.tables if "accuracy" in t[0] and "macro F1" in t[0])
    assert table5[1][table5[0].index("accuracy")] == "0.46" and "size" not in table5[0]  # 35 test images: 2 places
    assert [r[-1] for r in table5[1:]][4:6] == ["-5.7", "-5.7"]  # real + synthetic vs real-only, percentage points
    stages = next(t for t in page.tables if t[0][0] == "stage")
    assert stages[1] == ["fit", "ran", "12"]


def test_in_a_browser_nothing_sticks_out_or_shrinks(report):
    """The same page laid out by a headless Chromium at 1400 px, where one is installed."""
    from mri_gan.experiments.render import find_chromium, layout, layout_problems

    if find_chromium() is None:
        pytest.skip("no Chromium (apt-get install chromium)")
    found = layout(report[0] / "report.html", width=1400)
    assert len(found["tables"]) >= 6 and len(found["images"]) >= 10
    assert layout_problems(found) == []
    assert min(t["font_px"] for t in found["tables"]) >= 12
