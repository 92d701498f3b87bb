"""The truncation trick at sampling time (`synth.truncation`, BigGAN): fidelity vs diversity of a
trained generator, measured with the in-training quality probe (equal set sizes) at each
truncation t; no retraining. One row per (run, t) -> OUT.jsonl and a Markdown table on stdout.

    python benchmarks/truncation_sweep.py --data /work/runs/prep64 --out benchmarks/truncation.jsonl \\
        RUN1 [RUN2 ...] [--t 0,1.5,1.0,0.7,0.5] [--checkpoint best]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="fit run dirs")
    ap.add_argument("--data", required=True, help="the prepared dir the runs trained on")
    ap.add_argument("--out", required=True, help="JSONL file the rows are appended to")
    ap.add_argument("--t", default="0,1.5,1.0,0.7,0.5", help="truncations (0 = off)")
    ap.add_argument("--checkpoint", default="best", help="checkpoint of each run (best | newest | a prefix)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mri_gan.config import load_config
    from mri_gan.data.pipeline import list_split, load_uint8, to_uint8
    from mri_gan.gans.gan import sample_latent
    from mri_gan.gans.synthesis import load_generator
    from mri_gan.metrics.features import get_extractor
    from mri_gan.metrics.quality import QualityProbe
    from mri_gan.utils import append_jsonl, read_json

    prep = Path(args.data)
    cfg = load_config(None, [])
    feature_fn = get_extractor(cfg.eval.features, cfg.eval, cfg.classifier, prep)
    ts = [float(t) for t in args.t.split(",")]
    rows = []
    for run in args.runs:
        run = Path(run)
        cls = read_json(run / "run.json")["class"]
        real = load_uint8(list_split(prep, "train", [cls])[0])
        n = min(cfg.train.eval_n, len(real))
        probe = QualityProbe(real, feature_fn, cfg.eval, n)
        gen = load_generator(run, None if args.checkpoint == "newest" else args.checkpoint)
        for t in ts:
            z = sample_latent(n, [cfg.train.seed, 7], gen.latent_dim, truncation=t)
            fakes = to_uint8(gen.generate(z)[..., 0])
            m = probe.measure(fakes)
            row = {"run": run.name, "class": cls, "checkpoint": gen.checkpoint, "truncation": t, "n": n,
                   **{k: m[k] for k in ("kid", "fid", "precision", "recall", "coverage", "ms_ssim_ratio",
                                        "nearest_ssim", "copy_rate")}}
            append_jsonl(args.out, row)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| run | t | KID | precision | recall | coverage | MS-SSIM ratio | nearest SSIM | copy rate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['truncation'] or 'off'} | {r['kid']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['coverage']:.3f} | {r['ms_ssim_ratio']:.2f} | {r['nearest_ssim']:.3f} | {r['copy_rate']:.3f} |")


if __name__ == "__main__":
    main()
