"""Limited-data tools, one at a time, around the default recipe: the proposed GAN on one class
trained with the defaults (PacGAN pairs, no spectral norm, TTUR 4e-4 / 1e-4, generator EMA 0.999,
R1 gamma 0.1, no DiffAugment, no minibatch-stddev channel: the R1 recipe of 2026-12-01) and with one
piece removed or added per variant, all with the same budget (kimg or epochs), batch, seed and data;
each evaluated like a `compare` cell (FID/KID, precision/recall/coverage, within-set MS-SSIM,
SSIM/PSNR to the nearest real image, copy rate). Uses `mri_gan.experiments.compare.run_cell`, so the
cells are resumable and identical in procedure to Table VI's.

    python benchmarks/ablate_limited_data.py --data runs/prep64 --class glioma \
        --out runs/ablate64 -s train.kimg=80 -s train.eval_every=16 [-s key=value ...]

Writes OUT/cells/<class>/<variant>/ and OUT/ablation.{md,json}. (The variants of 2026-12-01, around
the DiffAugment recipe of that date, are in docs/history.md; their cells keep their old names.)
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

VARIANTS = {  # variant -> {"section.key": value} changes to the defaults; everything else identical
    "defaults": {},
    "no R1": {"gan.r1_gamma": 0.0},
    "+ DiffAugment (translation,cutout per group)": {"train.diffaugment": "translation,cutout"},
    "+ ADA": {"train.ada": True},
    "no PacGAN (pack 1)": {"gan.pack": 1},
    "no EMA (raw G)": {"train.ema": 0.0},
    "+ spectral norm": {"gan.spectral_norm": True},
    "one learning rate (2e-4)": {"train.d_lr": 2e-4, "train.g_lr": 2e-4},
}


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-").replace("--", "-")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="prepared dir")
    ap.add_argument("--class", dest="cls", default="glioma")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=None, help="train.epochs of every variant")
    ap.add_argument("--variants", default=",".join(_slug(v) for v in VARIANTS),
                    help="comma-separated subset of " + ",".join(_slug(v) for v in VARIANTS))
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
    if args.epochs is not None:  # an explicit epoch count replaces the kimg budget, as `fit --epochs` does
        cfg.train.epochs, cfg.train.kimg = args.epochs, 0.0
    out.mkdir(parents=True, exist_ok=True)
    paths, _, _ = list_split(prep, "train", [args.cls])
    real = load_uint8(paths)
    feature_fn = None
    rows = []
    by_slug = {_slug(v): v for v in VARIANTS}
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in by_slug]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(by_slug)}")
    for slug in wanted:
        variant = by_slug[slug]
        changes = dict(VARIANTS[variant])
        vcfg = copy.deepcopy(cfg)
        for key, v in changes.items():
            section, name = key.split(".")
            setattr(getattr(vcfg, section), name, v)
        res_path = cell_dir(out, args.cls, slug) / "result.json"
        if res_path.is_file():
            res = read_json(res_path)
        else:
            if feature_fn is None:
                feature_fn = get_extractor(cfg.eval.features, cfg.eval, cfg.classifier, prep)
            res = run_cell(prep, out, args.cls, "proposed", vcfg, real, feature_fn, name=slug)
        row = table_row(res)
        row["variant"], row["changes"] = variant, changes
        run = Path(res["run"])
        hist = [json.loads(line) for line in open(run / "history.jsonl")] if (run / "history.jsonl").is_file() else []
        row["final_ada_p"] = hist[-1].get("ada_p") if hist else None
        probe = [json.loads(line) for line in open(run / "metrics.jsonl")] if (run / "metrics.jsonl").is_file() else []
        row["probe"] = probe[-1] if probe else None  # the in-training quality probe at the end (equal set sizes)
        rows.append(row)

    t_ = cfg.train
    meta = {"data": str(prep), "class": args.cls, "kimg": t_.kimg, "epochs": t_.epochs, "batch_size": t_.batch_size,
            "seed": t_.seed, "n": cfg.compare.n, "real": int(len(real)), "size": cfg.data.size}
    write_json(out / "ablation.json", {"rows": rows, "meta": meta})
    lines = ["| Variant | probe at kimg | KID | Recall | Coverage | MS-SSIM ratio | Nearest SSIM | Copy rate | D acc (real/fake) | FID (all reals) | Train time (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v, d: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
    for r in rows:
        p = r["probe"] or {}
        lines.append(f"| {r['variant']} | {f(p.get('kimg'), 1)} | {f(p.get('kid'), 3)} | {f(p.get('recall'), 3)} | {f(p.get('coverage'), 3)} | "
                     f"{f(p.get('ms_ssim_ratio'), 2)} | {f(p.get('nearest_ssim'), 3)} | {f(p.get('copy_rate'), 3)} | "
                     f"{f(p.get('d_acc_real'), 2)} / {f(p.get('d_acc_fake'), 2)} | {f(r['fid'], 2)} | {f(r['train_s'], 0)} |")
    lines.append("")
    length = f"{t_.kimg:g} kimg" if t_.kimg > 0 else f"{t_.epochs} epochs"
    lines.append(f"Proposed GAN on {args.cls}, {meta['size']} px, {meta['real']} real training images, {length}, "
                 f"batch {t_.batch_size}, seed {t_.seed}. KID, recall, coverage, MS-SSIM ratio (fakes / reals), "
                 f"nearest SSIM and copy rate: the last in-training probe of the run (`metrics.jsonl`, at the kimg "
                 f"shown: every train.eval_every = {cfg.train.eval_every:g} kimg, so not always the run's end; "
                 f"{cfg.train.eval_n} fakes of the sampling generator vs as many real training images); FID: "
                 f"{meta['n']} fakes vs all the class's real training images (`evaluate`).")
    atomic_write_text(out / "ablation.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
