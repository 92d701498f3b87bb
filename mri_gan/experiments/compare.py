"""`compare`: the paper's Table VI — several GAN kinds trained per tumour class with the same
budget, synthesized and evaluated the same way.

For each (class, kind) cell, in `OUT/cells/<class>/<kind>/`:
    run/          a normal `fit` run dir (same data, epochs, batch, seed; only `gan.kind` differs)
    syn/          `synthesize` output: `compare.n` images from `synth.seed`
    result.json   the evaluation (`mri_gan.metrics.evaluate_sets` against the class's real
                  training images, features from `eval.features`) + timings; written last
Then `OUT/table6.{md,csv,json}` and `OUT/samples.png` (real images and each kind's samples,
one row per class).

Resumable: a cell with `result.json` is not touched again; a cell whose training was cut off
continues from its last checkpoint (fit's resume), and a finished synthetic set is reused.
Cells never train conditionally (`gan.conditional` is forced off): Table VI is one GAN per class.
"""

from __future__ import annotations

import copy
import csv
import io
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.experiments.tables import table6_cells
from mri_gan.gans.factory import KIND_NAMES, KINDS
from mri_gan.images import image_grid
from mri_gan.utils import atomic_write_bytes, atomic_write_text, machine_summary, read_json, read_jsonl, write_json



def _logger(log, progress: bool):
    """The progress-line sink: `log` when given, else stderr when `progress`, else nothing."""
    if log is not None:
        return log
    if progress:
        return lambda msg: print(f"[compare] {msg}", file=sys.stderr, flush=True)
    return lambda msg: None


def cell_dir(out: Path, cls: str, kind: str) -> Path:
    return Path(out) / "cells" / cls / kind


def check_request(prep: Path, cfg) -> tuple[list[str], list[str], int]:
    """Validate kinds, classes and size against the prepared dir; one-line errors."""
    from mri_gan.data.pipeline import read_prepared_info

    info = read_prepared_info(prep)
    size = int(info["size"])
    if int(cfg.data.size) != size:
        raise MriGanError(f"{prep} is prepared at {size} px but data.size is {cfg.data.size}: "
                          f"pass --size {size} or prepare the data at {cfg.data.size} px")
    kinds = [k.strip() for k in cfg.compare.kinds if str(k).strip()]
    classes = [c.strip() for c in cfg.compare.classes if str(c).strip()]
    if not kinds:
        raise MriGanError("compare.kinds is empty: name at least one of " + ", ".join(KINDS))
    if not classes:
        raise MriGanError("compare.classes is empty: name at least one class of the data")
    for k in kinds:
        if k not in KINDS:
            raise MriGanError(f"unknown GAN kind {k!r} (kinds: {', '.join(KINDS)})")
    for c in classes:
        if c not in info["classes"]:
            raise MriGanError(f"class {c!r} is not in {prep} (classes: {', '.join(info['classes'])})")
    if len(set(kinds)) != len(kinds) or len(set(classes)) != len(classes):
        raise MriGanError("compare.kinds and compare.classes must not repeat a name")
    if cfg.compare.n < 2:
        raise MriGanError(f"compare.n must be at least 2 (got {cfg.compare.n})")
    return kinds, classes, size


def cell_config(cfg, kind: str):
    """The config of one cell: the shared one with only `gan.kind` changed (and never conditional).
    `synth.checkpoint: auto` becomes `last`: every kind is sampled at the end of the same image budget,
    not at its best in-training measurement (which, with `train.eval_every` 20 kimg and a 32 kimg
    budget, would be the 20 kimg snapshot); `-s synth.checkpoint=best` samples the best snapshots."""
    c = copy.deepcopy(cfg)
    c.gan.kind = kind
    c.gan.conditional = False
    if c.synth.checkpoint == "auto":
        c.synth.checkpoint = "last"
    return c


# keys that do not change a cell's result, so a finished cell is reused when only they differ
_IGNORED = {"train": {"sample_every", "sample_grid", "checkpoint_every", "keep_checkpoints", "strategy",
                      "steps_per_execution"},
            "synth": {"batch_size"}}


def cell_differences(cdir: Path, ccfg) -> list[str]:
    """Config keys (gan, train, synth, eval, compare.n) where a finished cell differs from `ccfg`."""
    from mri_gan.config import differences, load_saved

    if not (cdir / "config.yaml").is_file():
        return []
    saved = load_saved(cdir / "config.yaml")
    ignore = {f"{section}.{k}" for section, keys in _IGNORED.items() for k in keys}
    return [f"{k}: {a!r} -> {b!r}"
            for k, a, b in differences(saved, ccfg, ("gan", "train", "synth", "eval", "compare.n"), ignore)]


def _train_seconds(run: Path) -> float | None:
    hist = read_jsonl(run / "history.jsonl")
    secs = [h.get("seconds") for h in hist if h.get("seconds") is not None]
    return float(sum(secs)) if secs else None


def _epochs_done(run: Path) -> int:
    return len({int(h["epoch"]) for h in read_jsonl(run / "history.jsonl") if "epoch" in h})


def _load_fakes(syn: Path, cls: str) -> np.ndarray:
    from mri_gan.data.pipeline import load_uint8

    files = sorted(str(p) for p in (syn / cls).glob("*.png"))
    if not files:
        raise MriGanError(f"no synthetic images in {syn / cls}")
    return load_uint8(files)


@dataclass(frozen=True)
class CellOptions:
    """How `run_cell` reports and names a cell (its keyword arguments)."""

    progress: bool = True  # progress bars and Keras' per-epoch lines
    name: str | None = None  # the cell's directory and method column (default: the kind), so a
    # variant of one kind (e.g. the proposed GAN with DiffAugment) can be a cell of its own
    log: object = None  # log(msg) takes the progress lines (default: stderr when `progress`)


def run_cell(prep: Path, out: Path, cls: str, kind: str, cfg, real: np.ndarray, feature_fn, **options) -> dict:
    """Train (or resume), synthesize and evaluate one (class, kind) cell against the class's
    `real` images (features by `feature_fn`); returns its result. `options`: the fields of
    `CellOptions` (progress, name, log)."""
    from mri_gan.metrics.evaluate import evaluate_sets
    from mri_gan.gans.synthesis import synthesize
    from mri_gan.gans.fit import run_fit

    o = CellOptions(**options)
    progress, name = o.progress, o.name
    _log = _logger(o.log, progress)
    cdir = cell_dir(out, cls, name or kind)
    run, syn = cdir / "run", cdir / "syn"
    ccfg = cell_config(cfg, kind)
    cdir.mkdir(parents=True, exist_ok=True)
    ccfg.save(cdir / "config.yaml")

    t0 = time.perf_counter()
    resumed = (run / "run.json").is_file()
    if run.exists() and not resumed:  # killed before fit wrote run.json: nothing to keep
        shutil.rmtree(run)
    label = f"{cls} / {name or kind}"
    t_ = ccfg.train
    length = f"{t_.kimg:g} kimg" if t_.kimg > 0 else f"{t_.epochs} epochs"
    _log(f"{label}: {'resume' if resumed else 'train'} {length} -> {run}")
    run_fit(prep, cls, run, ccfg, resume=resumed, epochs=None if t_.kimg > 0 else t_.epochs,
            kimg=t_.kimg if t_.kimg > 0 else None, verbose=2 if progress else 0)
    fit_wall = time.perf_counter() - t0

    t = time.perf_counter()
    if not (syn / "manifest.csv").is_file():
        _log(f"{label}: synthesize {ccfg.compare.n}")
        synthesize(run, syn, ccfg.compare.n, seed=ccfg.synth.seed, batch_size=ccfg.synth.batch_size,
                   checkpoint=ccfg.synth.checkpoint, overwrite=True)
    synth_s = time.perf_counter() - t
    fake = _load_fakes(syn, cls)

    t = time.perf_counter()
    _log(f"{label}: evaluate {len(fake)} fakes vs {len(real)} reals")
    metrics = evaluate_sets(real, fake, ccfg.eval, feature_fn=feature_fn, progress=progress,
                            figure_path=cdir / "copies.png")
    eval_s = time.perf_counter() - t

    train_s = _train_seconds(run)
    result = {
        "class": cls, "kind": kind, "method": name or KIND_NAMES[kind],
        "epochs": _epochs_done(run), "batch_size": ccfg.train.batch_size, "n": len(fake),
        "train_s": round(train_s if train_s is not None else fit_wall, 1),
        "fit_wall_s_this_call": round(fit_wall, 1), "resumed": resumed,
        "synth_s": round(synth_s, 1), "eval_s": round(eval_s, 1),
        "run": str(run), "syn": str(syn / cls),
        "metrics": metrics,
    }
    write_json(cdir / "result.json", result)  # last: its presence marks the cell done
    return result


def table_row(result: dict) -> dict:
    """One flat Table VI row from a cell result."""
    m = result["metrics"]
    kid = m.get("kid")
    return {
        "category": result["class"], "method": result["method"], "kind": result["kind"],
        "ssim": m["ssim"]["nearest"]["mean"], "ssim_std": m["ssim"]["nearest"]["std"],
        "psnr": m["psnr"]["nearest"]["mean"], "psnr_std": m["psnr"]["nearest"]["std"],
        "mse": m["mse"]["nearest"]["mean"],
        "ssim_random": m["ssim"]["random"]["mean"], "psnr_random": m["psnr"]["random"]["mean"],
        "fid": m.get("fid"),
        "kid": None if kid is None else kid["mean"],
        "kid_std": None if kid is None else kid["std"],
        "precision": m.get("precision"), "recall": m.get("recall"),
        "density": m.get("density"), "coverage": m.get("coverage"),
        "copy_rate": m.get("copy_rate"),
        "ms_ssim_fake": m.get("ms_ssim_fake"), "ms_ssim_real": m.get("ms_ssim_real"),
        "train_s": result["train_s"], "epochs": result["epochs"], "n": result["n"],
        "features": m.get("features"),
    }


def _budget(meta: dict, rows: list[dict]) -> str:
    """The run length every cell had: kimg (and the epochs it took per class) or epochs."""
    if meta.get("kimg", 0) > 0:
        per_class = {}
        for r in rows:
            per_class.setdefault(r["category"], set()).add(r["epochs"])
        epochs = ", ".join(f"{c} {'/'.join(str(e) for e in sorted(es))}" for c, es in per_class.items())
        return f"{meta['kimg']:g} kimg of real images shown ({epochs} epochs)"
    return f"{meta['epochs']} epochs"


def format_markdown(rows: list[dict], meta: dict) -> str:
    """Table VI in the paper's shape (category, method, SSIM, PSNR) plus the added columns
    (`tables.table6_cells`: the best value per category of each column with a direction in bold)."""
    from mri_gan.experiments.document import table_markdown

    lines = [table_markdown(*table6_cells(rows))]
    notes = [
        "",
        f"{meta['n']} synthetic images per cell vs the class's real training images "
        f"({', '.join(f'{c} {k}' for c, k in meta['real_counts'].items())}); "
        f"{meta['size']} px; {_budget(meta, rows)}, batch {meta['batch_size']}, seed {meta['seed']} for every kind.",
        "SSIM / PSNR: each fake against its nearest real training image (mean ± std over fakes; "
        "the paper's columns). High values alone can mean copying: read them with the copy rate.",
        f"FID / KID from features: {meta['features']} (not comparable with published Inception FIDs). "
        "Precision / recall: k-NN manifolds in the same feature space.",
        "Bold: best of the category (higher SSIM/PSNR/precision/recall, lower FID/KID). "
        "Train time: summed per-epoch seconds of fit" + (f" on {meta['machine']}." if meta.get("machine") else "."),
    ]
    return "\n".join(lines + notes) + "\n"


def write_tables(out: Path, rows: list[dict], meta: dict) -> None:
    out = Path(out)
    write_json(out / "table6.json", {"rows": rows, "meta": meta})
    buf = io.StringIO()
    fields = list(rows[0].keys()) if rows else ["category", "method"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    atomic_write_text(out / "table6.csv", buf.getvalue())
    atomic_write_text(out / "table6.md", format_markdown(rows, meta))


def samples_figure(path: Path, reals: dict[str, np.ndarray], fakes: dict[tuple[str, str], np.ndarray],
                   classes: list[str], kinds: list[str], k: int = 4, seed: int = 0) -> None:
    """One row per class: a k x k grid of real images, then one per kind (its first k*k fakes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = ["real"] + kinds
    fig, axes = plt.subplots(len(classes), len(cols), figsize=(2.2 * len(cols), 2.3 * len(classes)), squeeze=False)
    rng = np.random.default_rng(seed)
    for i, cls in enumerate(classes):
        real = reals[cls]
        pick = rng.choice(len(real), size=min(k * k, len(real)), replace=False)
        panels = [image_grid(real[np.sort(pick)], k, pad=0, rows=k)] + [
            image_grid(fakes[(cls, kind)], k, pad=0, rows=k) if (cls, kind) in fakes else None for kind in kinds]
        for j, (name, img) in enumerate(zip(cols, panels)):
            ax = axes[i, j]
            ax.axis("off")
            if img is not None:
                ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            if i == 0:
                ax.set_title("Real" if name == "real" else KIND_NAMES[name], fontsize=10)
            if j == 0:
                ax.text(-0.06, 0.5, cls, transform=ax.transAxes, rotation=90, va="center", ha="right", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def run_compare(prep, out, cfg, progress: bool = True, log=None) -> dict:
    """Train, synthesize and evaluate every (class, kind) cell of `cfg.compare` on PREP, then
    write the tables and the figure into OUT. Returns {"rows", "meta", "trained", "skipped"}.
    `log(msg)` takes the progress lines (default: stderr when `progress`)."""
    _log = _logger(log, progress)
    from mri_gan.backend import keep_tensorflow_out
    from mri_gan.data.pipeline import list_split, load_uint8
    from mri_gan.metrics.features import get_extractor

    keep_tensorflow_out()
    prep, out = Path(prep), Path(out)
    kinds, classes, size = check_request(prep, cfg)
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(out / "config.yaml")

    reals = {}
    for cls in classes:
        paths, _, _ = list_split(prep, "train", [cls])
        if len(paths) < 2:
            raise MriGanError(f"class {cls!r} has {len(paths)} training images in {prep}: need at least 2")
        reals[cls] = load_uint8(paths)

    todo = [(c, k) for c in classes for k in kinds if not (cell_dir(out, c, k) / "result.json").is_file()]
    feature_fn = get_extractor(cfg.eval.features, cfg.eval, cfg.classifier, prep, show_progress=progress) if todo else None
    results, trained, skipped = {}, [], []
    t_all = time.perf_counter()
    for cls in classes:
        for kind in kinds:
            res_path = cell_dir(out, cls, kind) / "result.json"
            if res_path.is_file():
                diff = cell_differences(res_path.parent, cell_config(cfg, kind))
                if diff:
                    raise MriGanError(f"cell {cls}/{kind} in {out} was made with another config "
                                      f"({'; '.join(diff[:3])}): use a new --out, or delete that cell to redo it")
                results[(cls, kind)] = read_json(res_path)
                skipped.append(f"{cls}/{kind}")
                _log(f"{cls} / {kind}: done already ({res_path})")
                continue
            results[(cls, kind)] = run_cell(prep, out, cls, kind, cfg, reals[cls], feature_fn, progress=progress,
                                            log=log)
            trained.append(f"{cls}/{kind}")

    rows = [table_row(results[(c, k)]) for c in classes for k in kinds]
    meta = {
        "data": str(prep), "size": size, "classes": classes, "kinds": kinds, "n": cfg.compare.n,
        "epochs": cfg.train.epochs, "kimg": cfg.train.kimg, "batch_size": cfg.train.batch_size, "seed": cfg.train.seed,
        "synth_seed": cfg.synth.seed, "real_counts": {c: int(len(reals[c])) for c in classes},
        "features": rows[0]["features"] if rows else None,
        "pairing": "nearest real training image of the same class (SSIM), see mri_gan.metrics",
        "wall_s_this_call": round(time.perf_counter() - t_all, 1),
        "machine": machine_summary(),  # where this call ran (cells reused from earlier calls may not have)
        "trained_this_call": trained,
    }
    write_tables(out, rows, meta)
    fakes = {(c, k): _load_fakes(cell_dir(out, c, k) / "syn", c) for c in classes for k in kinds}
    samples_figure(out / "samples.png", reals, fakes, classes, kinds, seed=cfg.eval.seed)
    return {"rows": rows, "meta": meta, "trained": trained, "skipped": skipped}
