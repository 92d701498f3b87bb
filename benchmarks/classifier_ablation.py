"""One-piece-off ablation of the strong classifier recipe: `classifier.preset: strong`
(configs/classifier-strong.yaml) with one piece removed per variant, everything else identical
(data, seeds, epochs, precision), each a resumable `classify` run; then one table of what each
piece is worth on the real test split.

    python benchmarks/classifier_ablation.py --data prep64 --out runs/clf-ablation [--seeds 1]
        [--variants no-batchnorm,no-augmentation] [-s classifier.epochs=[20,40,60]]

Writes OUT/<variant>/ (a `classify` RUN dir each: results.json, history.jsonl, figures) and
OUT/ablation.{md,json}, rewritten after each variant. Re-running skips finished variants and
resumes a cut-short one at its next seed (`classify --resume`). Each variant at 60 epochs takes
about as long as the strong recipe itself (25-35 min a seed on the 2-core Xeon, bf16).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ablate_limited_data import _slug as slug  # the GAN ablation's variant -> directory name

VARIANTS = {  # variant -> classifier keys changed from the strong preset; everything else identical
    "strong (every piece)": {},
    "no BatchNorm": {"batchnorm": False},
    "no augmentation (geometric and intensity)": {"augment": False, "augment_intensity": False},
    "no intensity augmentation": {"augment_intensity": False},
    "no label smoothing": {"label_smoothing": 0.0},
    "Adam without weight decay": {"optimizer": "adam", "weight_decay": 0.0},
    "constant learning rate": {"lr_schedule": "constant", "warmup_epochs": 0.0},
    "Flatten head instead of global pooling": {"head": "flatten"},
    "no dropout": {"dropout": 0.0},
}
REFERENCE = "strong (every piece)"


def variant_row(name: str, res: dict, ref: dict | None) -> dict:
    """The table row of one finished (or partly finished) variant from its results.json."""
    last = str(res["epochs"][-1])
    summ = res["summary"][last]
    acc = summ["accuracy"]
    row = {"variant": name, "seeds": res["seeds_done"], "epoch": int(last),
           "accuracy": acc["mean"], "ci95": acc.get("ci95"), "values": acc["values"],
           "minutes_per_seed": res["wall_seconds"] / 60.0 / max(1, len(res["seeds_done"]))}
    for key in ("balanced_accuracy", "auc_macro", "ece"):
        row[key] = summ[key]["mean"] if key in summ else None
    if ref is not None:  # the paired difference against the full recipe, seed by seed
        ref_acc = dict(zip(ref["seeds_done"], ref["summary"][last]["accuracy"]["values"]))
        pairs = [v - ref_acc[s] for s, v in zip(res["seeds_done"], acc["values"]) if s in ref_acc]
        row["vs_strong"] = sum(pairs) / len(pairs) if pairs else None
        row["vs_strong_seeds"] = len(pairs)
    return row


def table_md(rows: list[dict]) -> str:
    def pct(v):
        return "–" if v is None else f"{100 * v:.2f}"

    lines = ["| variant | seeds | epoch | test accuracy % (per seed) | vs every piece, points (paired) | "
             "balanced acc. % | macro AUC | ECE | min a seed |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ci = "" if not r["ci95"] or len(r["seeds"]) < 2 else f" [{pct(r['ci95'][0])}, {pct(r['ci95'][1])}]"
        per_seed = " / ".join(pct(v) for v in r["values"])
        vs = r.get("vs_strong")
        vs_s = "–" if vs is None or r["variant"] == REFERENCE else f"{100 * vs:+.2f} ({r['vs_strong_seeds']} seed(s))"
        auc = "–" if r["auc_macro"] is None else f"{r['auc_macro']:.4f}"
        ece = "–" if r["ece"] is None else f"{r['ece']:.3f}"
        lines.append(f"| {r['variant']} | {len(r['seeds'])} | {r['epoch']} | {pct(r['accuracy'])}{ci} ({per_seed}) | "
                     f"{vs_s} | {pct(r['balanced_accuracy'])} | {auc} | {ece} | {r['minutes_per_seed']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="prepared dir (mrigan-tf prepare)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, default=1, help="seeds per variant (0 .. N-1)")
    ap.add_argument("--variants", default=",".join(slug(v) for v in VARIANTS),
                    help="comma-separated subset of " + ",".join(slug(v) for v in VARIANTS))
    ap.add_argument("-c", "--config", default=str(Path(__file__).resolve().parents[1] / "configs" / "classifier-strong.yaml"))
    ap.add_argument("-s", "--set", dest="overrides", action="append", default=[], help="config override section.key=value")
    args = ap.parse_args(argv)

    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mri_gan.classifier.train import run_classify
    from mri_gan.config import load_config
    from mri_gan.errors import MriGanError
    from mri_gan.utils import atomic_write_text, read_json, write_json

    by_slug = {slug(v): v for v in VARIANTS}
    chosen = [s.strip() for s in args.variants.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in by_slug]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(by_slug)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def results_of(name):
        f = out / slug(name) / "results.json"
        return read_json(f) if f.is_file() else None

    def write_table():
        ref = results_of(REFERENCE)
        rows = [variant_row(v, r, ref) for v in VARIANTS if (r := results_of(v)) is not None and r.get("seeds_done")]
        write_json(out / "ablation.json", {"data": str(args.data), "config": args.config, "overrides": args.overrides,
                                           "rows": rows})
        atomic_write_text(out / "ablation.md", table_md(rows))
        return rows

    for s in chosen:
        name = by_slug[s]
        cfg = load_config(args.config, args.overrides)
        cfg.classifier.seeds = args.seeds
        for key, value in VARIANTS[name].items():
            setattr(cfg.classifier, key, value)
        print(f"== {name}: {VARIANTS[name] or 'the strong preset as is'}", flush=True)
        try:
            run_classify(args.data, out / s, cfg, resume=True, verbose=2)
        except MriGanError as e:
            raise SystemExit(f"{name}: {e}") from None
        write_table()
    print(table_md(write_table()), end="")


if __name__ == "__main__":
    main()
