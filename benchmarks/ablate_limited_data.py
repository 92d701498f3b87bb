"""Limited-data tools, one switch at a time: the proposed GAN on one class, trained with the
same budget (epochs, batch, seed, data) as a plain baseline and with DiffAugment, ADA or
generator EMA switched on alone; each evaluated like a `compare` cell (FID/KID, precision,
recall, SSIM/PSNR, copy rate). Uses `mri_gan.experiments.compare.run_cell`, so the cells are
resumable and identical in procedure to Table VI's.

    python benchmarks/ablate_limited_data.py --data /work/runs/prep64 --class glioma \
        --out /work/runs/ablate64 --epochs 15 [-s key=value ...]

Writes OUT/cells/<class>/<variant>/ and OUT/ablation.{md,json}.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

VARIANTS = {  # variant -> train-section changes; everything else identical
    "baseline": {},
    "diffaugment": {"diffaugment": "translation,cutout,color"},
    "ada": {"ada": True},
    "ema": {"ema": None},  # filled from --ema
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="prepared dir")
    ap.add_argument("--class", dest="cls", default="glioma")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=None, help="train.epochs of every variant")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--ema", type=float, default=0.98,
                    help="EMA decay for the ema variant (0.98: a ~50-step horizon; the ~240-step runs at 64 px are too short for 0.999, whose average would still hold the initial weights)")
    ap.add_argument("--ada-speed", type=float, default=None, help="train.ada_speed for the ada variant (images for p: 0 -> 1)")
    ap.add_argument("-c", "--config", default=None, help="YAML config (e.g. a compare's OUT/config.yaml, to pin it)")
    ap.add_argument("-s", "--set", dest="overrides", action="append", default=[], help="config override section.key=value")
    args = ap.parse_args(argv)

    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mri_gan.config import load_config
    from mri_gan.data.pipeline import list_split, load_uint8, read_prepared_info
    from mri_gan.experiments.compare import cell_dir, run_cell, table_row
    from mri_gan.metrics.features import get_extractor
    from mri_gan.utils import atomic_write_text, read_json, write_json

    prep, out = Path(args.data), Path(args.out)
    cfg = load_config(args.config, args.overrides)
    cfg.data.size = int(read_prepared_info(prep)["size"])
    if args.epochs is not None:
        cfg.train.epochs = args.epochs
    out.mkdir(parents=True, exist_ok=True)
    paths, _, _ = list_split(prep, "train", [args.cls])
    real = load_uint8(paths)
    feature_fn = None
    rows = []
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        changes = dict(VARIANTS[variant])
        if variant == "ema":
            changes["ema"] = args.ema
        if variant == "ada" and args.ada_speed is not None:
            changes["ada_speed"] = args.ada_speed
        vcfg = copy.deepcopy(cfg)
        for k, v in changes.items():
            setattr(vcfg.train, k, v)
        res_path = cell_dir(out, args.cls, variant) / "result.json"
        if res_path.is_file():
            res = read_json(res_path)
        else:
            if feature_fn is None:
                feature_fn = get_extractor(cfg.eval.features, cfg.eval, cfg.classifier, prep)
            res = run_cell(prep, out, args.cls, "proposed", vcfg, real, feature_fn, name=variant)
        row = table_row(res)
        row["variant"], row["changes"] = variant, changes
        hist = [json.loads(line) for line in open(Path(res["run"]) / "history.jsonl")] if Path(res["run"], "history.jsonl").is_file() else []
        row["final_ada_p"] = hist[-1].get("ada_p") if hist else None
        rows.append(row)

    meta = {"data": str(prep), "class": args.cls, "epochs": cfg.train.epochs, "batch_size": cfg.train.batch_size,
            "seed": cfg.train.seed, "n": cfg.compare.n, "real": int(len(real)), "size": cfg.data.size}
    write_json(out / "ablation.json", {"rows": rows, "meta": meta})
    lines = ["| Variant | FID | KID | Precision | Recall | SSIM (nearest) | Copy rate | ADA p (end) | Train time (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    f = lambda v, d: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
    for r in rows:
        lines.append(f"| {r['variant']} | {f(r['fid'], 2)} | {f(r['kid'], 3)} ± {f(r['kid_std'], 3)} | "
                     f"{f(r['precision'], 3)} | {f(r['recall'], 3)} | {f(r['ssim'], 4)} | {f(r['copy_rate'], 3)} | "
                     f"{f(r['final_ada_p'], 3)} | "
                     f"{f(r['train_s'], 0)} |")
    lines.append("")
    lines.append(f"Proposed GAN on {args.cls}, {meta['size']} px, {meta['real']} real training images, "
                 f"{meta['epochs']} epochs, batch {meta['batch_size']}, seed {meta['seed']}, {meta['n']} fakes per variant.")
    atomic_write_text(out / "ablation.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
