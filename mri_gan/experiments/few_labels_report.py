"""Tables and figure of the few-labels study: N x arm, paired differences, copy rates.

The score of a classifier run is its test accuracy at one epoch per arm, chosen on the real
validation images (the listed epoch with the best validation accuracy averaged over seeds), for
every arm alike. Differences are paired by seed: arm
minus real-only, and arm minus real + classic augmentation, each with its Student-t 95 % interval.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mri_gan.classifier.stats import t_interval
from mri_gan.experiments.layout import conditional_study
from mri_gan.utils import atomic_write_text, read_json, write_json

METRICS = ("accuracy", "balanced_accuracy", "auc_macro")
FIRST = "-first"  # cell-name mark of a run trained on its fakes for the first share of its epochs only
STEPS = "-x"  # cell-name mark of an arm without fakes whose epochs were stretched by this factor


def cell_name(arm: str, syn_tag: str = "", share: float = 1.0, factor: float = 1.0) -> str:
    """The dir name of a classifier arm under clf/n<N>/<recipe>/: the arm, then its synthetic set
    (`<rule>-r<ratio>`), then `-first<share>` when classifier.synthetic_share < 1; an arm without
    fakes whose epochs were stretched to the steps of those with (few_labels.equal_steps) ends in
    `-x<factor>`."""
    if not syn_tag:
        return arm + (f"{STEPS}{factor:g}" if factor > 1 else "")
    return f"{arm}-{syn_tag}" + (f"{FIRST}{share:g}" if share < 1 else "")


def syn_of(cell: str) -> str:
    """The synthetic set (`<rule>-r<ratio>`, its dir under syn/n<N>/) of a cell name ("" for none)."""
    arm, _, rest = cell.partition("-")
    if "synthetic" not in arm:
        return ""
    return rest.split(FIRST, 1)[0]


def step_factor(share: float, ratio: float) -> float:
    """How many times the optimizer steps of a run on its real images alone a run takes with
    `ratio` fakes per real image for the first `share` of its epochs (an epoch with fakes is
    1 + ratio times as long)."""
    return 1.0 + float(share) * float(ratio)


def steps_of(cell: str) -> float:
    """The cell's optimizer steps as a multiple of its arm's epochs on the real images alone: the
    stretch of an arm without fakes, 1 + share x ratio for an arm with them."""
    syn = syn_of(cell)
    if not syn:
        _, mark, factor = cell.partition(STEPS)
        return float(factor) if mark else 1.0
    return step_factor(share_of(cell), float(syn.rsplit("-r", 1)[1]))


def share_of(cell: str) -> float:
    """The share of its epochs a cell trained on its fakes (1 without a `-first<share>` mark)."""
    return float(cell.split(FIRST, 1)[1]) if FIRST in cell else 1.0


ARM_LABELS = {"real": "real only", "classic": "real + classic", "synthetic": "real + fakes",
              "classic+synthetic": "real + classic + fakes"}


def cell_label(cell: str) -> str:
    """A reader's name for a cell (the figure's legend): "real + classic + fakes (every draw, 1 per
    real image, first 50 % of epochs)" for `classic+synthetic-none-r1-first0.5`."""
    arm = cell.split("-", 1)[0]
    words = ARM_LABELS.get(arm, arm)
    syn = syn_of(cell)
    if not syn:
        factor = steps_of(cell)
        return words + (f" ({factor:g}x epochs)" if factor != 1 else "")
    rule, ratio = syn.rsplit("-r", 1)
    share = share_of(cell)
    when = f", first {share * 100:g} % of epochs" if share < 1 else ""
    return f"{words} ({'every draw' if rule == 'none' else rule}, {float(ratio):g} per real image{when})"


def baseline(arms: dict, arm: str, factor: float) -> str | None:
    """The cell an arm is paired with: `arm` (real or classic) trained for as many steps (`factor`)
    where the study made it, else `arm` itself."""
    matched = cell_name(arm, factor=factor)
    return matched if arms.get(matched) else arm if arms.get(arm) else None


def _seed_scores(run: Path) -> dict[int, dict]:
    """{seed: {metric: value, "epoch": e}} of a classifier run at its validation-chosen epoch: of
    the epochs where the run scored test (classifier.epochs), the one with the highest validation
    accuracy averaged over seeds (ties: the later). One epoch for every seed of an arm, chosen on
    the real validation images only; averaging over seeds steadies a choice that one seed's few
    validation images would make at random."""
    p = run / "results.json"
    if not p.is_file():
        return {}
    rows = [r for r in read_json(p).get("runs", []) if r.get("val_accuracy") is not None]
    if not rows:
        return {}
    epochs = sorted({int(r["epoch"]) for r in rows})
    mean_val = {e: float(np.mean([r["val_accuracy"] for r in rows if r["epoch"] == e])) for e in epochs}
    best = max(epochs, key=lambda e: (mean_val[e], e))
    return {int(r["seed"]): {m: r.get(m) for m in METRICS} | {"epoch": best, "val_accuracy": r["val_accuracy"]}
            for r in rows if r["epoch"] == best}


def paired(a: dict[int, dict], b: dict[int, dict], metric: str = "accuracy") -> dict | None:
    """t interval of a - b over the seeds both have (None with fewer than two)."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    out = t_interval([a[s][metric] - b[s][metric] for s in seeds])
    out["seeds"] = seeds
    return out


def collect(out: Path, f) -> dict:
    """{"rows": [...]} with one row per (N, recipe, arm) found under OUT/clf."""
    out = Path(out)
    rows = []
    sub_counts = {}
    for ndir in sorted((out / "clf").glob("n*"), key=lambda p: (p.name == "nall", int(p.name[1:]) if p.name[1:].isdigit() else 0)):
        n = ndir.name[1:]
        for rdir in sorted(ndir.iterdir()):
            if not rdir.is_dir():
                continue
            arms = {a.name: _seed_scores(a) for a in sorted(rdir.iterdir()) if a.is_dir()}
            for name, scores in arms.items():
                if not scores:
                    continue
                row = {"n": n, "recipe": rdir.name, "arm": name, "seeds": sorted(scores),
                       "epoch": next(iter(scores.values()))["epoch"]}
                for m in METRICS:
                    vals = [s[m] for s in scores.values() if s[m] is not None]
                    row[m] = t_interval(vals) if vals else None
                syn = syn_of(name)
                base = "" if syn else name.split(STEPS, 1)[0]
                real, classic = (baseline(arms, a, steps_of(name)) for a in ("real", "classic"))
                row["baselines"] = {"real": real, "classic": classic}
                if base != "real":
                    row["vs_real"] = paired(scores, arms.get(real, {}))
                if base not in ("real", "classic"):
                    row["vs_classic"] = paired(scores, arms.get(classic, {}))
                copies = out / "syn" / f"n{n}" / syn / "copies.json"
                row["synthetic"] = syn or None
                audit = read_json(copies)["all"] if syn and copies.is_file() else {}
                row["copy_rate"], row["n_synthetic"] = audit.get("copy_rate"), audit.get("n")
                rows.append(row)
        sub = out / "subsets" / f"n{n}" / "prepare.json"
        if sub.is_file():
            sub_counts[n] = read_json(sub).get("subset_counts", {}).get("train")
    timing = read_json(out / "timing.json") if (out / "timing.json").is_file() else {}
    return {"rows": rows, "subset_counts": sub_counts, "seconds": timing, "gans": gan_quality(out)}


GAN_COLUMNS = ("kimg", "kid", "recall", "coverage", "ms_ssim_ratio", "nearest_ssim", "copy_rate")


def gan_quality(out: Path) -> dict:
    """{N: {class: the GAN's best measurement (most quality targets met, then the lowest KID: the
    snapshot `synthesize` uses), its targets met, measurements, minutes}} from OUT/gan.

    A conditional run (OUT/gan/n<N>/conditional, measured per class) gives one entry per class:
    that class's own measurement at the run's best snapshot (the one whose worst class is best,
    as checkpoints/best/best.json records it), with `run` "conditional" and the one run's minutes."""
    from mri_gan.gans.monitor import snapshot_score
    from mri_gan.metrics.quality import meets_targets
    from mri_gan.utils import read_jsonl

    def entry(row: dict, kimg, measurements: int, minutes) -> dict:
        met = meets_targets(row)
        return {**{k: row.get(k) for k in GAN_COLUMNS}, "kimg": kimg, "targets_met": f"{sum(met.values())}/{len(met)}",
                "measurements": measurements, "minutes": minutes}

    res = {}
    for ndir in sorted(Path(out).glob("gan/n*")):
        for run in sorted(p for p in ndir.iterdir() if (p / "metrics.jsonl").is_file()):
            rows = [r for r in read_jsonl(run / "metrics.jsonl") if r.get("kid") is not None]
            if not rows:
                continue
            done = read_json(run / "done.json") if (run / "done.json").is_file() else {}
            minutes = round(done["seconds"] / 60, 1) if "seconds" in done else None
            per = res.setdefault(ndir.name[1:], {})
            conditional = [r for r in rows if "classes" in r]
            if conditional:
                best_json = run / "checkpoints" / "best" / "best.json"
                best = read_json(best_json) if best_json.is_file() else None
                if not best or "classes" not in best:
                    best = max(conditional, key=lambda r: snapshot_score(r) or ())
                for cls, row in best["classes"].items():
                    per[cls] = {**entry(row, best.get("kimg"), len(conditional), minutes), "run": run.name}
                continue
            best = max(rows, key=lambda r: (sum(meets_targets(r).values()), -r["kid"]))
            per[run.name] = entry(best, best.get("kimg"), len(rows), minutes)
    return res


def gan_markdown(gans: dict) -> str:
    lines = ["| N / class | class | best at kimg | KID | recall | coverage | MS-SSIM ratio | nearest-real SSIM | "
             "copy rate | targets met | minutes |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, per in gans.items():
        shown = set()
        for cls, g in per.items():
            cells = [f"{g[k]:.3g}" if isinstance(g[k], float) else str(g[k]) for k in GAN_COLUMNS]
            run = g.get("run")
            minutes = g["minutes"]
            if run:  # one conditional run makes every class: its wall time once, on its first class
                name = f"{cls} ({run})"
                minutes = f"{minutes} (all classes)" if run not in shown else "same run"
                shown.add(run)
            else:
                name = cls
            lines.append(f"| {n} | {name} | " + " | ".join(cells) + f" | {g['targets_met']} | {minutes} |")
    return "\n".join(lines) + "\n"


def _pct(s: dict | None, sign: bool = False) -> str:
    if not s:
        return "–"
    if s.get("ci95") is None:
        return f"{s['mean'] * 100:{'+' if sign else ''}.1f}"
    lo, hi = s["ci95"]
    return f"{s['mean'] * 100:{'+' if sign else ''}.1f} [{lo * 100:+.1f}, {hi * 100:+.1f}]" if sign else \
        f"{s['mean'] * 100:.1f} [{lo * 100:.1f}, {hi * 100:.1f}]"


def markdown(table: dict) -> str:
    lines = ["| N / class | recipe | arm | seeds | epoch | accuracy % [95 % CI] | vs real-only, points [CI] | "
             "vs real + classic, points [CI] | balanced acc. % | macro AUC | fakes used | copy rate of fakes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def vs(r, key, arm):
        base = (r.get("baselines") or {}).get(arm)
        text = _pct(r.get(key), True)
        return text + (f" (vs {base})" if r.get(key) and base and base != arm else "")

    for r in table["rows"]:
        copies = "–" if r["copy_rate"] is None else f"{r['copy_rate']:.3f}"
        used = "–" if r.get("n_synthetic") is None else str(r["n_synthetic"])
        lines.append(f"| {r['n']} | {r['recipe']} | {r['arm']} | {len(r['seeds'])} | {r['epoch']} | {_pct(r['accuracy'])} | "
                     f"{vs(r, 'vs_real', 'real')} | {vs(r, 'vs_classic', 'classic')} | "
                     f"{r['balanced_accuracy']['mean'] * 100:.1f} | {r['auc_macro']['mean']:.3f} | {used} | {copies} |")
    return "\n".join(lines) + "\n"


def figure(table: dict, path: Path) -> None:
    """Accuracy vs N (log axis), one line per arm of the paper's CNN, 95 % CI bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in table["rows"] if r["recipe"] == "paper" and r["accuracy"]]
    if not rows:
        return
    counts = table.get("subset_counts", {})

    def x_of(n: str) -> float:
        if n != "all":
            return float(n)
        per = [c for c in (counts.get("all") or {}).values()]
        return float(np.mean(per)) if per else 1000.0

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    order = {arm: i for i, arm in enumerate(ARM_LABELS)}
    arms = sorted({r["arm"] for r in rows}, key=lambda cell: (order.get(cell.split("-", 1)[0], len(order)), cell))
    for i, arm in enumerate(arms):
        pts = sorted((x_of(r["n"]), r["accuracy"]) for r in rows if r["arm"] == arm)
        xs = np.array([p[0] for p in pts]) * (1 + 0.012 * (i - (len(arms) - 1) / 2))  # side by side at one N
        ys = np.array([p[1]["mean"] * 100 for p in pts])
        lo = np.array([(p[1]["ci95"] or [p[1]["mean"]] * 2)[0] * 100 for p in pts])
        hi = np.array([(p[1]["ci95"] or [p[1]["mean"]] * 2)[1] * 100 for p in pts])
        line = ax.errorbar(xs, ys, yerr=[ys - lo, hi - ys], marker="o", capsize=3, label=cell_label(arm))
        if len(xs) > 1:  # a band between the Ns, whiskers at each
            ax.fill_between(xs, lo, hi, alpha=0.12, color=line[0].get_color())
    ax.set_xscale("log")
    ticks = sorted({x_of(r["n"]) for r in rows})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("real training images per class (log)")
    ax.set_ylabel("test accuracy % (epoch chosen on validation)")
    ax.set_title("Few labels: the paper's CNN, mean and 95 % CI over paired seeds")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def write_report(out: Path, table: dict, cfg) -> None:
    out = Path(out)
    write_json(out / "few_labels.json", table)
    md = ["# Few labels: do synthetic images help?", "",
          f"{cfg.data.size} px; test accuracy on the whole test split at each arm's epoch chosen on validation "
          "(the listed epoch with the best validation accuracy averaged over seeds); "
          "differences paired by seed (arm minus baseline), Student-t 95 % intervals. Arms marked -x<factor> are "
          "real only or real + classic trained for factor times their epochs, as many optimizer steps as the "
          "arms with fakes (1 + share x ratio); an arm is paired with the baseline of its own steps where "
          "there is one.", "",
          markdown(table), "", "![accuracy vs N](few_labels.png)", ""]
    if table.get("gans"):
        which = ("one conditional GAN per N for every class, trained on the N images of each; quality of each "
                 "class at the snapshot used (chosen by the worst class), against that class's N training images"
                 if conditional_study(cfg) else
                 "one per class, trained on the N images; quality of the snapshot used, against the N training images")
        md += [f"GANs ({which}):", "", gan_markdown(table["gans"]), ""]
    if table.get("seconds"):
        md += ["Wall time per N (subset, GANs, synthesis, every classifier run): " +
               ", ".join(f"N={k}: {v / 60:.1f} min" for k, v in table["seconds"].items()), ""]
    atomic_write_text(out / "few_labels.md", "\n".join(md))
    figure(table, out / "few_labels.png")
