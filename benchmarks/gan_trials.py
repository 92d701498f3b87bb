"""Recipe trials for the GAN on real data: train, measure quality while training, keep a table.

    python benchmarks/gan_trials.py --data prep64 --class glioma --kimg 64 --name sn-translation \\
        -s train.diffaugment=translation -s train.ema=0.999
    python benchmarks/gan_trials.py --table          # rewrite benchmarks/gan_trials.md from the JSONL
    python benchmarks/gan_trials.py --plot runs/trials/glioma-x --plot-out curves.png   # quality vs kimg
    python benchmarks/gan_trials.py --class glioma --name x --record --note "stopped at 200 kimg"  # row of a stopped run

Each trial is one `mrigan-tf fit` into TRIALS/<class>-<name> (default TRIALS = runs/trials) with
`--kimg`, quality every `--eval-every` kimg (RUN/metrics.jsonl, see mri_gan/gans/monitor.py),
then one row appended to benchmarks/gan_trials.jsonl: the settings, steps, wall minutes, the
best measurement (the one kept as checkpoints/best) and the last one (KID, recall, coverage, MS-SSIM ratio, nearest SSIM, copy
rate, D accuracy). A trial whose run dir exists continues it (`fit --resume`), so a cut session
can be picked up. The table is the record of what was tried (issue "Synthetic MRI worth using").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JSONL = ROOT / "benchmarks" / "gan_trials.jsonl"
TABLE = ROOT / "benchmarks" / "gan_trials.md"
COLS = ("kid", "recall", "coverage", "precision", "ms_ssim_ratio", "nearest_ssim", "copy_rate")


def _cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def read_rows():
    if not JSONL.is_file():
        return []
    return [json.loads(x) for x in JSONL.read_text().splitlines() if x.strip()]


def _fmt(v, d=3):
    return "" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))


def _targets(m):
    from mri_gan.metrics.quality import meets_targets

    met = meets_targets(m) if m else {}
    return f"{sum(met.values())}/{len(met)}" if met else ""


def write_table():
    rows = read_rows()
    lines = ["# GAN recipe trials (real data)", "",
             "Written by `benchmarks/gan_trials.py` from `gan_trials.jsonl`; one row per trial. Quality of "
             "`eval_n` fakes (fixed seed, EMA generator when on) vs an equal-size seeded subset of the "
             "class's real training images, classifier features (mri_gan/metrics/quality.py). "
             "`best` = the measurement kept as checkpoints/best (`train.best_by`: the lowest KID until the tenth "
             "session; since then by default the most targets met, then the lowest KID), `last` = the end of the run. Data: the Brain Tumor MRI "
             "Dataset prepared at 64 px (dedup split); batch 32, float32, seed 0 unless the settings say "
             "train.seed; TensorFlow 2.21 on a 2-core Xeon VM (AVX512_BF16, AMX) up to trial 38 and on a 2-core "
             "AMD EPYC VM (AVX2 only, ~2.8x slower per step) from trial 39 on (the eleventh session). Minutes = training + "
             "measurements, wall clock. Targets: recall "
             ">= 0.40, coverage >= 0.40, MS-SSIM ratio <= 1.25, KID <= 0.08, nearest SSIM >= 0.45, copies <= 0.01.",
             "", "| # | class | size | trial | settings | kimg | G steps | min | at | " + " | ".join(COLS) + " | D acc | targets |",
             "|" + "---|" * (11 + len(COLS))]
    for i, r in enumerate(rows, 1):
        for tag in ("best", "last"):
            m = r.get(tag) or {}
            acc = None if "d_acc_real" not in m else 0.5 * (m["d_acc_real"] + m["d_acc_fake"])
            head = [str(i), r["class"], str(r["size"]), r["name"], ("`" + " ".join(r["overrides"]) + "`") if r["overrides"] else "(the defaults of its session)",
                    _fmt(r["kimg"], 0), str(r["g_steps"]), _fmt(r["minutes"], 1)] if tag == "best" else [""] * 8
            lines.append("| " + " | ".join(head + [f"{tag} @{_fmt(m.get('kimg'), 0)}"]
                                          + [_fmt(m.get(c)) for c in COLS] + [_fmt(acc, 2), _targets(m)]) + " |")
    notes = [r for r in rows if r.get("note")]
    if notes:
        lines += ["", "Notes:"] + [f"- #{rows.index(r) + 1} {r['name']}: {r['note']}" for r in notes]
    TABLE.write_text("\n".join(lines) + "\n")


def row_for(out: Path, name: str, class_name: str, overrides: list[str], note: str = "") -> dict:
    """The table row of a finished trial run dir (history.jsonl, metrics.jsonl, config.yaml)."""
    hist = [json.loads(x) for x in (out / "history.jsonl").read_text().splitlines() if x.strip()]
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    kids = [m for m in metrics if m.get("kid") is not None]
    flagged = [m for m in kids if m.get("best")]  # what checkpoints/best holds (train.best_by of the run)
    best = flagged[-1] if flagged else (min(kids, key=lambda m: m["kid"]) if kids else None)
    train_s = sum(h.get("seconds", 0) for h in hist)
    eval_s = sum(m.get("eval_seconds", 0) for m in metrics)
    # time to quality: wall minutes (training + measurements) until a measurement first meets every target
    from mri_gan.metrics.quality import meets_targets

    def spent_until(epoch):
        return round((sum(h.get("seconds", 0) for h in hist if h["epoch"] <= epoch)
                      + sum(x.get("eval_seconds", 0) for x in metrics if x["epoch"] <= epoch)) / 60, 2)

    first_each = {}  # target -> first measurement (kimg, minutes) that met it
    for m in metrics:
        for k, ok in meets_targets(m).items():
            if ok and k not in first_each:
                first_each[k] = {"kimg": m["kimg"], "minutes": spent_until(m["epoch"])}
    first_ok = None
    for m in metrics:
        if m.get("kid") is not None and all(meets_targets(m).values()):
            first_ok = {"kimg": m["kimg"], "minutes": spent_until(m["epoch"])}
            break
    cfg_text = (out / "config.yaml").read_text()
    import yaml

    bs = yaml.safe_load(cfg_text)["train"]["batch_size"]
    row = {"name": name, "class": class_name, "size": json.loads((out / "run.json").read_text())["size"],
           "overrides": overrides, "kimg": hist[-1]["kimg"] if hist else 0,
           "g_steps": int(round(hist[-1]["kimg"] * 1000 / bs)) if hist else 0,
           "minutes": round((train_s + eval_s) / 60, 2),
           "eval_share": round(eval_s / max(train_s + eval_s, 1e-9), 3),
           "best": best, "last": metrics[-1] if metrics else None, "run": str(out),
           "targets_met_at": first_ok, "first_met": first_each,
           "targets_met_best": None if best is None else f"{sum(meets_targets(best).values())}/{len(meets_targets(best))}",
           "machine": f"{_cpu_name()}, {os.cpu_count()} cores", "note": note}
    return row


def plot_curves(runs: list[Path], path: Path) -> Path:
    """One figure of the in-training quality of trial runs (metrics.jsonl) against kimg: KID, recall,
    coverage, MS-SSIM ratio and nearest SSIM, each with its target (quality.TARGETS) as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mri_gan.metrics.quality import TARGETS

    keys = ("kid", "recall", "coverage", "ms_ssim_ratio", "nearest_ssim")
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.0))
    for run in runs:
        rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
        for ax, k in zip(axes, keys):
            ax.plot([r["kimg"] for r in rows], [r.get(k) for r in rows], marker=".", label=run.name)
    for ax, k in zip(axes, keys):
        ax.axhline(TARGETS[k][1], color="grey", ls="--", lw=1)
        ax.set_title(f"{k} ({TARGETS[k][0]} {TARGETS[k][1]})", fontsize=9)
        ax.set_xlabel("kimg")
        if k == "kid":
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/prep64")
    ap.add_argument("--class", dest="class_name", default="glioma")
    ap.add_argument("--name", default=None)
    ap.add_argument("--kimg", type=float, default=64)
    ap.add_argument("--eval-every", type=float, default=8)
    ap.add_argument("--trials", default="runs/trials")
    ap.add_argument("--note", default="")
    ap.add_argument("-s", "--set", dest="overrides", action="append", default=[])
    ap.add_argument("--table", action="store_true", help="only rewrite the Markdown table")
    ap.add_argument("--record", action="store_true",
                    help="append the row of the existing run dir as it stands (a trial stopped by hand), no training")
    ap.add_argument("--rescan", action="store_true", help="recompute every row from its run dir, then the table")
    ap.add_argument("--plot", nargs="+", type=Path, metavar="RUN", help="only draw the quality curves of these run dirs")
    ap.add_argument("--plot-out", type=Path, default=Path("quality_curves.png"))
    args = ap.parse_args()
    if args.plot:
        print(plot_curves(args.plot, args.plot_out))
        return
    if args.table or args.rescan:
        if args.rescan:
            rows = [{**r, **row_for(Path(r["run"]), r["name"], r["class"], r["overrides"], r.get("note", ""))}
                    for r in read_rows()]
            JSONL.write_text("".join(json.dumps(r) + "\n" for r in rows))
        write_table()
        return
    if not args.name:
        sys.exit("--name is required")
    out = Path(args.trials) / f"{args.class_name}-{args.name}"
    if args.record:
        if not (out / "metrics.jsonl").is_file():
            sys.exit(f"nothing to record: {out} has no metrics.jsonl")
        _append(row_for(out, args.name, args.class_name, args.overrides, args.note))
        return
    cmd = [sys.executable, "-m", "cli.main", "fit", "--data", args.data, "--class", args.class_name, "--out", str(out),
           "--kimg", str(args.kimg), "-s", f"train.eval_every={args.eval_every}", "-s", "train.sample_every=0"]
    for o in args.overrides:
        cmd += ["-s", o]
    if (out / "run.json").is_file():
        cmd = [sys.executable, "-m", "cli.main", "fit", "--out", str(out), "--resume", "--kimg", str(args.kimg)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=os.getcwd(), env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2"))
    if p.returncode:
        sys.exit(f"trial {args.name} failed (exit {p.returncode})")
    row = row_for(out, args.name, args.class_name, args.overrides, args.note)
    row["wall_minutes_this_call"] = round((time.perf_counter() - t0) / 60, 2)
    _append(row)


def _append(row: dict):
    with open(JSONL, "a") as f:
        f.write(json.dumps(row) + "\n")
    write_table()
    print(json.dumps({k: row[k] for k in ("name", "minutes", "best", "last")}))


if __name__ == "__main__":
    main()
