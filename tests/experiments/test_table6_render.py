"""Table VI has one renderer (tables.table6_cells) used by compare's table6.md and the study
report; the report's reading works on the numbers, and the notes name the real machine."""

from __future__ import annotations

from mri_gan.experiments.compare import format_markdown
from mri_gan.experiments.report import compare_reading
from mri_gan.experiments.tables import table6_cells
from mri_gan.utils import machine_summary


def _row(method, kind, ssim, fid, kid, recall):
    return {"category": "glioma", "method": method, "kind": kind, "ssim": ssim, "ssim_std": 0.01,
            "psnr": 20.0, "psnr_std": 1.0, "fid": fid, "kid": kid, "kid_std": 0.002, "precision": 0.5,
            "recall": recall, "copy_rate": 0.0, "ms_ssim_fake": 0.3, "train_s": 12.0}


ROWS = [_row("Proposed", "proposed", 0.61, 30.5, 0.012, 0.4), _row("DCGAN", "dcgan", 0.55, 41.25, None, 0.6)]


def test_cells_bold_the_best_and_show_spreads():
    header, cells = table6_cells(ROWS)
    assert header[:5] == ["Category", "Method", "SSIM", "PSNR (dB)", "FID"]
    prop, dc = cells
    assert prop[2] == "**0.610 ± 0.010**" and dc[2] == "0.550 ± 0.010"  # higher SSIM wins; places from the std
    assert prop[4] == "**30.5**" and dc[4] == "41.2"  # lower FID wins; 3 significant figures
    assert prop[5] == "0.0120 ± 0.0020" and dc[5] == "n/a"  # a single KID is not "best" of anything
    assert dc[7] == "**0.60**"  # a share of n images: 2 places
    header, cells = table6_cells([dict(r, size=32) for r in ROWS], by_size=True)
    assert header[0] == "Size" and cells[0][:3] == ["32", "glioma", "Proposed"]


def test_markdown_names_the_machine_it_ran_on():
    meta = {"n": 8, "real_counts": {"glioma": 24}, "size": 32, "epochs": 2, "batch_size": 8, "seed": 0,
            "features": "x", "machine": machine_summary()}
    md = format_markdown(ROWS, meta)
    assert "2-core" not in md and f"fit on {machine_summary()}." in md
    assert md.splitlines()[0].startswith("| Category | Method | SSIM |")
    assert "Train time: summed per-epoch seconds of fit." in format_markdown(ROWS, dict(meta, machine=None))


def test_reading_uses_the_numbers():
    (line,) = compare_reading([dict(r, size=32) for r in ROWS])
    assert "lowest FID: Proposed (30.5; DCGAN 41.2)" in line and "KID" not in line  # one KID compares with nothing
    assert "highest recall: DCGAN (0.60; Proposed 0.40)" in line
    assert "highest nearest-real SSIM: Proposed (0.610; DCGAN 0.550)" in line


def test_notes_give_the_budget_every_cell_had():
    meta = {"n": 8, "real_counts": {"glioma": 24}, "size": 32, "epochs": 20, "batch_size": 8, "seed": 0,
            "features": "x", "machine": None}
    assert "; 20 epochs, batch 8" in format_markdown(ROWS, meta)
    rows = [dict(r, epochs=e) for r, e in zip(ROWS, (25, 25))]
    md = format_markdown(rows + [dict(ROWS[0], category="pituitary", epochs=23)], dict(meta, kimg=32.0))
    assert "; 32 kimg of real images shown (glioma 25, pituitary 23 epochs), batch 8" in md and "20 epochs" not in md
