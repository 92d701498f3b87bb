"""The study's report: its tables (paper Tables III-VI, built in study_tables.py, plus what the
paper left out), readings, figures and caveats, as Markdown and HTML.

Reads only what the stages wrote (prepare.json, GAN histories and samples, synthesize manifests,
evaluation JSONs, classifier results.json and test_predictions.npz, compare's table6.json),
found through the study's layout (`mri_gan.experiments.layout.StudyLayout`, the argument called
`study` below); writes `tables/` (every digit, for analysis), `figures/`, `report.md` and a
self-contained `report.html` (for reading).

The report is a document for a reader at 1400 px or on paper: tables narrow enough to fit
(Tables IV and VI turned so that a row is a metric and a column a class or GAN kind), numbers
rounded to what the data can resolve (a share of n images to about 1/n, a mean to its spread's
second significant figure, the rest to 3 significant figures), no "best" where the shown values
tie, a caveat beside each metric that the sample cannot support, and figures drawn at the size
they are shown with text of 9 pt or more (report_figures.py). Re-render an existing study dir with
`python -m mri_gan.experiments.report DIR`.
"""

from __future__ import annotations

from pathlib import Path

from mri_gan.experiments.document import (Bullets, Document, Gallery, Heading, Image, Para, Table, Warning, to_html,
                                          to_markdown)
from mri_gan.experiments.report_figures import classifier_figure, copy_audit_figure, gan_loss_figure, latest_sample_grid
from mri_gan.experiments.study_tables import (T3_COLS, T4_COLS, T5_COLS, T6_COLS, classifier_runs, count_span,
                                              eval_rows, feature_caveat, fid_outliers, finite, paired_vs_real, table3,
                                              table4, table5, table6, unresolved_kid)
from mri_gan.experiments.tables import (SHARES, count_decimals, fmt_pm, fmt_share, fmt_sig, leaders, shown_value,
                                        table6_by_class, table6_cells, table6_text, write_table)
from mri_gan.utils import atomic_write_text, machine_summary, read_json

PAPER_BEST_ACCURACY = 0.951  # the paper's Table V best (GAN-augmented, 256 px, its own split)


def _gan_length(cfg) -> str:
    """The GAN run length as configured: kimg when train.kimg > 0, else epochs."""
    return f"{cfg.train.kimg:g} kimg" if cfg.train.kimg > 0 else f"{cfg.train.epochs} epochs"


def table4_display(study) -> list[tuple[str, list[str], list[list[str]], list[str]]]:
    """Table IV for reading: per (size, synthetic set) a table with a row per metric and a column
    per class, rounded (see the module doc), † on values to distrust; returns
    [(title, header, cells, caveats)]."""
    groups: dict = {}
    for size, rowname, cls, ev in eval_rows(study):
        groups.setdefault((size, rowname), []).append((cls, ev))
    out = []
    for (size, rowname), items in groups.items():
        fids = {cls: finite(ev.get("fid")) for cls, ev in items}
        outliers = fid_outliers(fids)
        caveats, flagged = [], set()
        counts = [n for _, ev in items for n in ((ev.get("counts") or {}).get("real"), (ev.get("counts") or {}).get("fake"))
                  if n]
        general = feature_caveat(counts, max((ev.get("feature_dim") or 0 for _, ev in items), default=0))
        caveats += [general] if general else []
        for cls, ratio in outliers.items():
            flagged |= {(cls, "fid"), (cls, "kid")}
            caveats.append(f"† {cls}: FID {fmt_sig(fids[cls])} is {ratio:.0f}x the median of the other classes: its "
                           "fakes sit far from its real images in feature space (look at its samples before reading "
                           "anything else in its column)")
        for cls, ev in items:
            if unresolved_kid(ev.get("kid")):
                flagged.add((cls, "kid"))
                caveats.append(f"† {cls}: KID {fmt_pm(ev['kid']['mean'], ev['kid']['std'])} (mean ± std over subsets): "
                               "the spread is as large as the value, KID does not resolve this set")
        if counts and min(counts) < 100:
            caveats.append(f"precision, recall and coverage count k-nearest-neighbour balls among {count_span(counts)} images "
                           f"per set: one image moves them by 1/{min(counts)} or more, and 0 or 1 come easily")

        def cell(cls, ev, key):
            counts = ev.get("counts", {})
            n_fake, n_real = counts.get("fake"), counts.get("real")
            if key == "counts":
                return f"{n_fake} / {n_real}"
            if key in ("psnr", "mse", "ssim", "ssim_random"):
                metric, pairing = ("ssim", "random") if key == "ssim_random" else (key, "nearest")
                d = (ev.get(metric) or {}).get(pairing) or {}
                text = fmt_pm(d.get("mean"), d.get("std"))
            elif key == "kid":
                d = ev.get("kid") or {}
                text = fmt_pm(d.get("mean"), d.get("std"))
            elif key in SHARES:
                text = fmt_share(ev.get(key), n_real if key in ("recall", "coverage") else n_fake)
            else:
                text = fmt_sig(ev.get(key))
            return f"{text} †" if text and (cls, key) in flagged else text

        metrics = [("counts", "fakes / reals"), ("psnr", "PSNR (dB), nearest real"), ("mse", "MSE, nearest real"),
                   ("ssim", "SSIM, nearest real"), ("ssim_random", "SSIM, random real"), ("fid", "FID"),
                   ("kid", "KID"), ("precision", "precision"), ("recall", "recall"), ("coverage", "coverage"),
                   ("ms_ssim_fake", "MS-SSIM within fakes"), ("ms_ssim_real", "MS-SSIM within reals"),
                   ("copy_rate", "copy rate")]
        header = ["metric"] + [cls for cls, _ in items]
        cells = [[label] + [cell(cls, ev, key) for cls, ev in items] for key, label in metrics]
        out.append((f"{size} px, set n{rowname}", header, cells, caveats))
    return out


def _ci_words(d: dict, unit_scale=100.0, unit="pp", decimals: int = 1) -> str:
    m = d["mean"] * unit_scale
    if d.get("ci95"):
        lo, hi = (c * unit_scale for c in d["ci95"])
        verdict = "helps" if lo > 0 else ("hurts" if hi < 0 else "no difference the seeds can resolve")
        return f"{m:+.{decimals}f} {unit} (95 % CI [{lo:+.{decimals}f}, {hi:+.{decimals}f}], n={d['n']} seeds): {verdict}"
    return f"{m:+.{decimals}f} {unit} (one seed: no confidence interval)"


def _n_test(r: dict) -> int | None:
    runs = r.get("runs") or []
    return runs[0].get("n") if runs and isinstance(runs[0], dict) else None


def _share_ci(d: dict | None, n) -> str:
    """'m [lo, hi]' of a share over seeds, rounded by the test split's size `n`."""
    if not d or finite(d.get("mean")) is None:
        return ""
    text = fmt_share(d["mean"], n)
    ci = d.get("ci95")
    if ci and all(finite(c) is not None for c in ci):
        text += f" [{fmt_share(ci[0], n)}, {fmt_share(ci[1], n)}]"
    return text


def _pp_ci(d: dict | None, n) -> str:
    """A paired difference of shares in percentage points, 'm [lo, hi]'."""
    if not d or finite(d.get("mean")) is None:
        return ""
    dec = max(0, count_decimals(n) - 1)
    text = f"{d['mean'] * 100:+.{dec}f}"
    ci = d.get("ci95")
    if ci and all(finite(c) is not None for c in ci):
        text += f" [{ci[0] * 100:+.{dec}f}, {ci[1] * 100:+.{dec}f}]"
    return text


def table5_display(study) -> tuple[list[str], list[list[str]], str]:
    """Table V for reading: (header, cells, what the dropped constant columns held)."""
    rows = []
    for size, split, label, run_dir in classifier_runs(study):
        r = read_json(run_dir / "results.json")
        n = _n_test(r)
        diff = None if label == "real" else paired_vs_real(study, size, r)
        for ep in r["epochs"]:
            s = r["summary"][str(ep)]
            rows.append({"size": f"{size}", "split": split, "training": label, "epoch": f"{ep}",
                         "seeds": f"{s['accuracy']['n']}", "test images": f"{n}" if n else "",
                         "accuracy": _share_ci(s.get("accuracy"), n),
                         "balanced accuracy": _share_ci(s.get("balanced_accuracy"), n),
                         "macro F1": _share_ci(s.get("f1_macro"), n), "macro AUC": _share_ci(s.get("auc_macro"), n),
                         "ECE": _share_ci(s.get("ece"), n), "loss": fmt_sig((s.get("loss") or {}).get("mean")),
                         "accuracy vs real-only (pp)": _pp_ci((diff or {}).get(str(ep), {}).get("accuracy"), n)})
    columns = ["size", "split", "training", "epoch", "seeds", "test images", "accuracy", "balanced accuracy",
               "macro F1", "macro AUC", "ECE", "loss", "accuracy vs real-only (pp)"]
    constant = [c for c in ("size", "seeds") if rows and len({r[c] for r in rows}) == 1]
    note = ", ".join(f"{c} {rows[0][c]}" + (" px" if c == "size" else "") for c in constant)
    columns = [c for c in columns if c not in constant]
    return columns, [[r[c] for c in columns] for r in rows], note


def compare_reading(t6: list[dict]) -> list[str]:
    """Which kind leads on which metric, per class, from Table VI's numbers as the table shows
    them: a tie (at zero or anywhere) names no leader."""
    out = []
    for size, cls in sorted({(r["size"], r["category"]) for r in t6}):
        rows = [r for r in t6 if r["size"] == size and r["category"] == cls]
        parts = []
        for metric, better, label in (("fid", "low", "FID"), ("kid", "low", "KID"), ("recall", "high", "recall"),
                                      ("ssim", "high", "nearest-real SSIM")):
            shown = {r["method"]: shown_value(table6_text(metric, r)) for r in rows}
            present = {m: v for m, v in shown.items() if v is not None}
            if len(present) < 2:
                continue
            texts = {r["method"]: table6_text(metric, r).split(" ", 1)[0] for r in rows if r["method"] in present}
            best = leaders(present, better)
            if not best:
                value = next(iter(texts.values()))
                parts.append(f"{label} tied at {value} for {', '.join(present)}: no leader")
                continue
            others = ", ".join(f"{m} {texts[m]}" for m in present if m not in best)
            word = "lowest" if better == "low" else "highest"
            parts.append(f"{word} {label}: {' and '.join(best)} ({texts[best[0]]}; {others})")
        if parts:
            out.append(f"Table VI, {cls} at {size} px: " + "; ".join(parts) + ".")
    return out


def reading(study, t4: list[dict]) -> list[str]:
    out = []
    for size, split, label, run_dir in classifier_runs(study):
        r = read_json(run_dir / "results.json")
        n = _n_test(r)
        last = str(r["epochs"][-1])
        acc = _share_ci(r["summary"][last]["accuracy"], n)
        on = f" ({n} test images)" if n else ""
        if label == "real":
            out.append(f"{size} px, {split} test split{on}, real images only: accuracy {acc} after {last} "
                       f"epochs (the paper reports {PAPER_BEST_ACCURACY:.3f} at 256 px with augmentation, on its own split).")
            continue
        diff = paired_vs_real(study, size, r)
        if diff and last in diff:
            dec = max(0, count_decimals(n) - 1)
            out.append(f"{size} px, {label}: accuracy {acc}; vs real only {_ci_words(diff[last]['accuracy'], decimals=dec)}.")
        else:
            out.append(f"{size} px, {label}: accuracy {acc}.")
    accs = {}
    for size, split, label, run_dir in classifier_runs(study):
        if label == "real":
            r = read_json(run_dir / "results.json")
            accs[(size, split)] = (r["summary"][str(r["epochs"][-1])]["accuracy"]["mean"], _n_test(r))
    for size in study.cfg.study.sizes:
        have = {s: a for (sz, s), a in accs.items() if sz == size}
        if len(have) > 1:
            txt = ", ".join(f"{s} {fmt_share(a, n)}" for s, (a, n) in have.items())
            line = f"Leakage at {size} px: real-only accuracy by test split: {txt}."
            if "shipped" in have:
                dec = max(0, count_decimals(have["shipped"][1]) - 1)
                gaps = [f"{(have['shipped'][0] - a) * 100:+.{dec}f} pp vs {s}" for s, (a, _) in have.items() if s != "shipped"]
                line += (f" The shipped split scores {', '.join(gaps)}: a positive gap is what test images that copy "
                         "training images are worth (different test sets, so read it with the CIs of Table V).")
            out.append(line)
    for row in t4:  # the numbers from the evaluation JSON, not the table's formatted text
        r = read_json(study.paths.eval(row["size"], int(row["set"][1:]), row["class"]))
        cr, msf, msr = (finite(r.get(k)) for k in ("copy_rate", "ms_ssim_fake", "ms_ssim_real"))
        notes = []
        if cr is not None and cr > 0:
            notes.append(f"copy rate {fmt_share(cr, (r.get('counts') or {}).get('fake'))} (fakes closer to a training "
                         "image than real pairs usually are)")
        if msf is not None and msr is not None and msf > msr + 0.1:
            notes.append(f"MS-SSIM within fakes {fmt_sig(msf, 2)} >> within reals {fmt_sig(msr, 2)}: low diversity, "
                         "mode collapse likely")
        if notes:
            out.append(f"{row['class']} ({row['size']} px, {row['set']}): " + "; ".join(notes) + ".")
    return out


def _table6_caveat(study, t6: list[dict]) -> str | None:
    """The feature-size caveat of Table VI's FID/KID (its feature dimension from the study's evaluations)."""
    dims = {ev.get("feature_dim") for *_, ev in eval_rows(study)} - {None}
    ns = [r.get("n") for r in t6 if r.get("n")]
    if not dims or not ns:
        return None
    return feature_caveat(ns, max(dims))


# -- the report ----------------------------------------------------------------------------------
def write_report(study, record: dict | None = None) -> Path:
    """Write the report of the study laid out by `study` (a StudyLayout); `record` is the study's
    run record (stage status and times; default: DIR/study.json when it exists)."""
    root = study.paths.root
    if record is None:
        record = read_json(root / "study.json") if (root / "study.json").is_file() else {}
    tables_dir, fig_dir = root / "tables", root / "figures"
    from mri_gan.experiments.layout import conditional_study

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
    write_table(tables_dir, "table6", T6_COLS, t6, "Table VI: GAN kinds per tumour class",
                "Same data, epochs, batch and number of synthetic images for every kind; evaluation as in Table IV.",
                display=table6_cells(t6, by_size=True))

    rec = record.get("stages", {})
    doc = Document("mri-gan study report")

    def _precision(name):
        from mri_gan.precision import resolve_precision

        return f"auto ({resolve_precision(name, 'train.precision')} here)" if name == "auto" else name

    doc.add(Para(f"Data: `{study.data_root}`; sizes {cfg.study.sizes}; GAN/classifier split `{cfg.study.split}`; "
                 f"GAN `{cfg.gan.kind}`{' (conditional)' if conditional_study(cfg) else ''}, {_gan_length(cfg)}, "
                 f"batch {cfg.train.batch_size}, {_precision(cfg.train.precision)}; classifier head `{cfg.classifier.head}`, epochs "
                 f"{cfg.classifier.epochs}, {cfg.classifier.seeds} seed(s). Machine: {machine_summary()}. "
                 "The resolved config is `config.yaml`; every digit of the tables is in `tables/` (CSV, JSON)."))
    times = [[s, v.get("status", ""), f"{v['seconds']:.0f}" if finite(v.get("seconds")) is not None else ""]
             for s, v in rec.items()]
    if times:
        doc.add(Table(["stage", "status", "seconds (when it ran)"], times, "Stages and their wall time"))

    t4_display = table4_display(study)
    t6_caveat = _table6_caveat(study, t6)
    doc.add(Heading("The honest reading"),
            Bullets(reading(study, t4) + compare_reading(t6) or ["No classifier or evaluation results yet."]))
    caveats = sorted({c for *_, cs in t4_display for c in cs if not c.startswith("†")})
    for c in caveats:
        doc.add(Warning(c[0].upper() + c[1:] + "."))

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
                 "after an MSE shortlist); the random-real SSIM pairs it with a random real image instead. The paper "
                 "does not say which pairing it used; nearest-real makes PSNR/SSIM reward copying, which is why the "
                 "copy rate and diversity sit beside them. Means ± std over the fakes; shares (precision, recall, "
                 "coverage, copy rate) rounded to about one image."))
    for title, header, cells, cs in t4_display:
        doc.add(Table(header, cells, f"Table IV, {title}: a row per metric, a column per class"))
        for c in cs:
            if c.startswith("†"):
                doc.add(Warning(c))
    for size in cfg.study.sizes:
        for rowname in dict.fromkeys(rn for s, _, _, rn, _, _ in study.synthetic_units() if s == size):
            fig = copy_audit_figure(study, size, rowname, fig_dir / f"copies_s{size}_n{rowname}.png")
            if fig:
                doc.add(Image(str(fig), f"Copy audit, {size} px, set n{rowname}: per class the fakes closest to a "
                                        "training image (left of each pair) beside that image (right), closest first; "
                                        "COPY marks SSIM above the class's calibrated threshold"))
    doc.add(Heading("Samples and training curves"))
    for size in cfg.study.sizes:
        grids = [Image(str(g), f"{name}, {size} px") for name, run, _ in study.gan_runs(size)
                 if (g := latest_sample_grid(run))]
        if grids:
            doc.add(Gallery(grids, f"Samples of a fixed latent batch after the last epoch, {size} px"))
        lf = gan_loss_figure(study, size, fig_dir / f"gan_losses_s{size}.png")
        if lf:
            doc.add(Image(str(lf), f"GAN losses per epoch, {size} px"))
    t5_header, t5_cells, t5_note = table5_display(study)
    doc.add(Heading("Table V: does synthetic data help the classifier?"),
            Table(t5_header, t5_cells, "Test split scores after each listed epoch: mean [95 % CI] over seeds (Student t), "
                                       "rounded to about one test image; accuracy vs real-only: paired difference with "
                                       "the real-only run of the same seeds, in percentage points"
                                       + (f"; all rows: {t5_note}" if t5_note else "")))
    for size, split, label, run_dir in classifier_runs(study):
        name = f"{size} px, {split}, {label}"
        fig = classifier_figure(run_dir, fig_dir / f"classifier_s{size}_{split}_{run_dir.name}.png", name)
        if fig:
            doc.add(Image(str(fig), f"{name}: confusion matrix, one-vs-rest ROC curves of the best-validation model "
                                    "on the test split, and the reliability diagram of the best-validation model "
                                    "(ECE over 15 equal-width bins of the top-class probability)"))
    if t6 or cfg.study.compare:
        doc.add(Heading("Table VI: GAN kinds compared"),
                Para("Same data, budget and number of synthetic images for every kind; evaluation as in Table IV. "
                     "Bold: the best shown value of a metric with a direction (none where the kinds tie)."))
        if t6_caveat:
            doc.add(Warning(t6_caveat[0].upper() + t6_caveat[1:] + "."))
        for title, header, cells in table6_by_class(t6, by_size=True):
            doc.add(Table(header, cells, f"Table VI, {title}: a row per metric, a column per GAN kind"))
        for size in cfg.study.sizes:
            s = study.paths.compare(size) / "samples.png"
            if s.is_file():
                doc.add(Image(str(s), f"real images and each kind's samples, {size} px"))
    atomic_write_text(root / "report.md", to_markdown(doc, root))
    atomic_write_text(root / "report.html", to_html(doc))
    return root / "report.html"


def rewrite(study_dir) -> Path:
    """Write the report of an existing study dir again (after a change to this module), from its
    config.yaml and study.json; nothing is trained or evaluated."""
    from mri_gan.config import load_saved
    from mri_gan.experiments.layout import StudyLayout

    root = Path(study_dir)
    record = read_json(root / "study.json") if (root / "study.json").is_file() else {}
    audit = read_json(root / "audit.json") if (root / "audit.json").is_file() else {}
    data_root = audit.get("root") or root  # the raw data the study read (the report names it)
    return write_report(StudyLayout(load_saved(root / "config.yaml"), data_root, root), record)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m mri_gan.experiments.report STUDY_DIR")
    print(rewrite(sys.argv[1]))
