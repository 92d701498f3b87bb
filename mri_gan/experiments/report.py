"""The study's tables (paper Tables III-VI, plus what the paper left out) and its report.

Reads only what the stages wrote (prepare.json, GAN histories and samples, synthesize manifests,
evaluation JSONs, classifier results.json, compare's table6.json), found through the study's
layout (`mri_gan.experiments.layout.StudyLayout`, the argument called `study` below); writes
`tables/`, `figures/`, `report.md` and a self-contained `report.html`.
"""

from __future__ import annotations

import math
from pathlib import Path

from mri_gan.experiments.document import Bullets, Document, Heading, Image, Para, Table, to_html, to_markdown
from mri_gan.experiments.tables import TABLE6_COLUMNS, fmt_ci, fmt_mean_std, table6_cells, write_table
from mri_gan.utils import atomic_write_text, machine_summary, read_json, read_jsonl

PAPER_BEST_ACCURACY = 0.951  # the paper's Table V best (GAN-augmented, 256 px, its own split)

T3_COLS = ["size", "set", "class", "images"]
T4_COLS = ["size", "set", "class", "fakes", "reals", "psnr", "mse", "ssim", "ssim_random", "fid", "kid",
           "precision", "recall", "coverage", "ms_ssim_fake", "ms_ssim_real", "copy_rate"]
T5_COLS = ["size", "split", "training", "epoch", "seeds", "accuracy", "loss", "f1_macro", "balanced_accuracy", "auc_macro",
           "ece", "accuracy_vs_real"]
T6_COLS = ["size", "category", "method", "kind"] + [k for k, *_ in TABLE6_COLUMNS] + ["ssim_std", "psnr_std", "kid_std"]



def _gan_length(cfg) -> str:
    """The GAN run length as configured: kimg when train.kimg > 0, else epochs."""
    return f"{cfg.train.kimg:g} kimg" if cfg.train.kimg > 0 else f"{cfg.train.epochs} epochs"

def _f(v, digits=4):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return ""
    if math.isnan(v):
        return ""
    return f"{v:.{digits}f}"


def _number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def _count_manifest(syn: Path) -> int:
    m = syn / "manifest.csv"
    if not m.is_file():
        return 0
    return max(0, len(m.read_text(encoding="utf-8").strip().splitlines()) - 1)


# -- tables --------------------------------------------------------------------------------------
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


# -- figures -------------------------------------------------------------------------------------
def gan_loss_figure(study, size: int, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(name, read_jsonl(run / "history.jsonl")) for name, run, _ in study.gan_runs(size)]
    runs = [(n, h) for n, h in runs if h]
    if not runs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, h in runs:
        ep = [r["epoch"] for r in h]
        axes[0].plot(ep, [r["d_loss"] for r in h], label=name)
        axes[1].plot(ep, [r["g_loss"] for r in h], label=name)
    axes[0].set_title("discriminator loss")
    axes[1].set_title("generator loss")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def latest_sample_grid(run: Path) -> Path | None:
    files = sorted((run / "samples").glob("epoch*.png")) or sorted((run / "samples").glob("*.png"))
    return files[-1] if files else None


# -- reading -------------------------------------------------------------------------------------
def _ci_words(d: dict, unit_scale=100.0, unit="pp") -> str:
    m = d["mean"] * unit_scale
    if d.get("ci95"):
        lo, hi = (c * unit_scale for c in d["ci95"])
        verdict = "helps" if lo > 0 else ("hurts" if hi < 0 else "no difference the seeds can resolve")
        return f"{m:+.2f} {unit} (95 % CI [{lo:+.2f}, {hi:+.2f}], n={d['n']} seeds): {verdict}"
    return f"{m:+.2f} {unit} (one seed: no confidence interval)"


def compare_reading(t6: list[dict]) -> list[str]:
    """Which kind wins on which metric, per class (from Table VI's numeric rows)."""
    out = []
    for size, cls in sorted({(r["size"], r["category"]) for r in t6}):
        rows = [r for r in t6 if r["size"] == size and r["category"] == cls]
        parts = []
        for metric, best, label in (("fid", min, "lowest FID"), ("kid", min, "lowest KID"),
                                    ("recall", max, "highest recall"), ("ssim", max, "highest nearest-real SSIM")):
            vals = [(_number(r.get(metric)), r["method"]) for r in rows if _number(r.get(metric)) is not None]
            if vals:
                v, m = best(vals)
                parts.append(f"{label}: {m} ({v:g})")
        if parts:
            out.append(f"Table VI, {cls} at {size} px: " + "; ".join(parts) + ".")
    return out


def reading(study, t4: list[dict]) -> list[str]:
    out = []
    for size, split, label, run_dir in classifier_runs(study):
        r = read_json(run_dir / "results.json")
        last = str(r["epochs"][-1])
        acc = r["summary"][last]["accuracy"]
        if label == "real":
            out.append(f"{size} px, {split} test split, real images only: accuracy {fmt_ci(acc, 4)} after {last} "
                       f"epochs (the paper reports {PAPER_BEST_ACCURACY:.3f} at 256 px with augmentation, on its own split).")
            continue
        diff = paired_vs_real(study, size, r)
        if diff and last in diff:
            out.append(f"{size} px, {label}: accuracy {fmt_ci(acc, 4)}; vs real only {_ci_words(diff[last]['accuracy'])}.")
        else:
            out.append(f"{size} px, {label}: accuracy {fmt_ci(acc, 4)}.")
    accs = {}
    for size, split, label, run_dir in classifier_runs(study):
        if label == "real":
            r = read_json(run_dir / "results.json")
            accs[(size, split)] = r["summary"][str(r["epochs"][-1])]["accuracy"]["mean"]
    for size in study.cfg.study.sizes:
        have = {s: a for (sz, s), a in accs.items() if sz == size}
        if len(have) > 1:
            txt = ", ".join(f"{s} {a:.4f}" for s, a in have.items())
            line = f"Leakage at {size} px: real-only accuracy by test split: {txt}."
            if "shipped" in have:
                gaps = [f"{(have['shipped'] - a) * 100:+.2f} pp vs {s}" for s, a in have.items() if s != "shipped"]
                line += (f" The shipped split scores {', '.join(gaps)}: a positive gap is what test images that copy "
                         "training images are worth (different test sets, so read it with the CIs of Table V).")
            out.append(line)
    for row in t4:  # the numbers from the evaluation JSON, not the table's formatted text
        r = read_json(study.paths.eval(row["size"], int(row["set"][1:]), row["class"]))
        cr, msf, msr = (_number(r.get(k)) for k in ("copy_rate", "ms_ssim_fake", "ms_ssim_real"))
        notes = []
        if cr is not None and cr > 0:
            notes.append(f"copy rate {cr:.3f} (fakes closer to a training image than real pairs usually are)")
        if msf is not None and msr is not None and msf > msr + 0.1:
            notes.append(f"MS-SSIM within fakes {msf:.3f} >> within reals {msr:.3f}: low diversity, mode collapse likely")
        if notes:
            out.append(f"{row['class']} ({row['size']} px, {row['set']}): " + "; ".join(notes) + ".")
    return out


# -- the report ----------------------------------------------------------------------------------
def write_report(study, record: dict | None = None) -> Path:
    """Write the report of the study laid out by `study` (a StudyLayout); `record` is the study's
    run record (stage status and times; default: DIR/study.json when it exists)."""
    root = study.paths.root
    if record is None:
        record = read_json(root / "study.json") if (root / "study.json").is_file() else {}
    tables_dir, fig_dir = root / "tables", root / "figures"
    cfg = study.cfg
    t3, t4, t5, t6 = table3(study), table4(study), table5(study), table6(study)
    write_table(tables_dir, "table3", T3_COLS, t3, "Table III: synthetic images per class and size",
                "Rows are synthetic sets (named by their tumour-class count); notumor has its own count.")
    write_table(tables_dir, "table4", T4_COLS, t4, "Table IV: quality of the synthetic images",
                "PSNR/MSE/SSIM: each fake vs its nearest real training image of its class (mean ± std over fakes); "
                "ssim_random: vs a seeded random real image. FID/KID/precision/recall/coverage in the features named in "
                "each eval JSON. copy_rate: share of fakes closer to a training image than real pairs usually are.")
    write_table(tables_dir, "table5", T5_COLS, t5, "Table V: classifier on the real test split",
                "mean [95 % CI] over seeds (Student t); accuracy_vs_real: paired difference with the real-only run of "
                "the same seeds.")
    t6_display = table6_cells(t6, by_size=True)
    write_table(tables_dir, "table6", T6_COLS, t6, "Table VI: GAN kinds per tumour class",
                "Same data, epochs, batch and number of synthetic images for every kind; evaluation as in Table IV.",
                display=t6_display)

    rec = record.get("stages", {})
    doc = Document("mri-gan study report")

    def _precision(name):
        from mri_gan.precision import resolve_precision

        return f"auto ({resolve_precision(name, 'train.precision')} here)" if name == "auto" else name

    doc.add(Para(f"Data: `{study.data_root}`; sizes {cfg.study.sizes}; GAN/classifier split `{cfg.study.split}`; "
                 f"GAN `{cfg.gan.kind}`{' (conditional)' if cfg.gan.conditional else ''}, {_gan_length(cfg)}, "
                 f"batch {cfg.train.batch_size}, {_precision(cfg.train.precision)}; classifier head `{cfg.classifier.head}`, epochs "
                 f"{cfg.classifier.epochs}, {cfg.classifier.seeds} seed(s). Machine: {machine_summary()}. "
                 "The resolved config is `config.yaml`."))
    times = [[s, v.get("status", ""), v.get("seconds", "")] for s, v in rec.items()]
    if times:
        doc.add(Table(["stage", "status", "seconds (when it ran)"], times, "Stages and their wall time"))

    doc.add(Heading("The honest reading"),
            Bullets(reading(study, t4) + compare_reading(t6) or ["No classifier or evaluation results yet."]))

    audit = root / "audit.json"
    if audit.is_file():
        a = read_json(audit)
        n_unread = a.get("unreadable", 0)
        n_unread = len(n_unread) if isinstance(n_unread, list) else n_unread
        doc.add(Heading("Data audit"), Para(
            f"{a.get('files', '?')} files, {n_unread} unreadable, {len(a.get('exact_duplicates', []))} exact-duplicate "
            f"groups, {len(a.get('near_duplicates', []))} near-duplicate pairs ({a.get('hash', 'perceptual hash')}, "
            f"Hamming distance <= {a.get('near_threshold', '?')}), {len(a.get('leaks', []))} test/train duplicate pairs "
            f"(leaks; removed from the test split by the `dedup` and `grouped` splits). Full audit: `audit.json`."))
    prep_rows = []
    for size in cfg.study.sizes:
        for split in study.splits_needed():
            p = study.paths.prep(size, split) / "prepare.json"
            if p.is_file():
                info = read_json(p)
                t = info.get("totals", {})
                prep_rows.append([size, split, t.get("found"), t.get("unreadable"), t.get("dropped"), t.get("train"),
                                  t.get("test"), (info.get("groups") or {}).get("groups", "")])
    if prep_rows:
        doc.add(Table(["size", "split", "found", "unreadable", "dropped", "train", "test", "groups"], prep_rows,
                      "Prepared data per split (dropped: duplicates kept once and leaked test images; "
                      "details in each prepare.json)"))

    doc.add(Heading("Table III: synthetic images"), Table(T3_COLS, [[r[c] for c in T3_COLS] for r in t3]))
    doc.add(Heading("Table IV: image quality, diversity, privacy"),
            Para("Pairing: each fake is compared with its **nearest** real training image of the same class (SSIM "
                 "after an MSE shortlist); `ssim_random` pairs it with a random real image instead. The paper does not "
                 "say which pairing it used; nearest-real makes PSNR/SSIM reward copying, which is why the copy rate "
                 "and diversity sit beside them."),
            Table(T4_COLS, [[r[c] for c in T4_COLS] for r in t4]))
    for size in cfg.study.sizes:
        for row in t4:
            if row["size"] != size:
                continue
            fig = study.paths.eval(size, int(row["set"][1:]), row["class"])
            fig = fig.with_name(fig.stem + "_copies.png")
            if fig.is_file():
                doc.add(Image(str(fig), f"{row['class']} {size} px {row['set']}: fakes | nearest real training image "
                                        f"(closest pairs first)", 320))
    doc.add(Heading("Samples and training curves"))
    for size in cfg.study.sizes:
        for name, run, _ in study.gan_runs(size):
            g = latest_sample_grid(run)
            if g:
                doc.add(Image(str(g), f"{name}, {size} px: samples of a fixed latent batch after the last epoch", 420))
        lf = gan_loss_figure(study, size, fig_dir / f"gan_losses_s{size}.png")
        if lf:
            doc.add(Image(str(lf), f"GAN losses per epoch, {size} px"))
    doc.add(Heading("Table V: does synthetic data help the classifier?"),
            Table(T5_COLS, [[r[c] for c in T5_COLS] for r in t5]))
    for size, split, label, run_dir in classifier_runs(study):
        if (run_dir / "confusion.png").is_file():
            doc.add(Image(str(run_dir / "confusion.png"), f"confusion matrix, {size} px, {split}, {label}", 380))
        for name, what in (("roc.png", "one-vs-rest ROC curves"), ("reliability.png", "reliability diagram")):
            if (run_dir / name).is_file():
                doc.add(Image(str(run_dir / name), f"{what} of the best-validation model on the test split, "
                                                   f"{size} px, {split}, {label}", 380))
    if t6 or cfg.study.compare:
        doc.add(Heading("Table VI: GAN kinds compared"), Table(*t6_display))
        for size in cfg.study.sizes:
            s = study.paths.compare(size) / "samples.png"
            if s.is_file():
                doc.add(Image(str(s), f"real images and each kind's samples, {size} px"))
    atomic_write_text(root / "report.md", to_markdown(doc, root))
    atomic_write_text(root / "report.html", to_html(doc))
    return root / "report.html"
