"""What real slices score on the GAN quality probe's pixel metrics: each class's real TEST images
measured like a fake set against that class's real TRAINING images (equal set sizes, the same
`QualityProbe` as `fit`'s in-training measurement, pixel metrics only: within-set MS-SSIM ratio,
nearest-real SSIM, copy rate). On a `dedup` split the test images keep other slices of the same
scans in training; on a `grouped` split near slices stay on one side, so its numbers are those of
unseen real slices: the scale the GAN's nearest-real SSIM target can be read against.

    python benchmarks/real_reference.py runs/prep64 runs/prep64-grouped [--out ref.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("preps", nargs="+", help="prepared dirs (`mrigan-tf prepare` outputs)")
    ap.add_argument("--out", default=None, help="JSON file for the rows (default: print only)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mri_gan.config import Config
    from mri_gan.data.pipeline import list_split
    from mri_gan.gans.batches import decode_all
    from mri_gan.metrics.quality import QualityProbe

    cfg = Config()
    rows = {}
    for prep in args.preps:
        meta = json.loads((Path(prep) / "prepare.json").read_text())
        size, split = meta["size"], meta["split"]
        for c in meta["classes"]:
            tr, _, _ = list_split(prep, "train", [c])
            te, _, _ = list_split(prep, "test", [c])
            if len(te) < 2 or len(tr) < 2:
                print(f"{prep} {c}: skipped ({len(tr)} train, {len(te)} test images)")
                continue
            real, test = decode_all(tr, size)[..., 0], decode_all(te, size)[..., 0]
            row = QualityProbe(real, None, cfg.eval, len(test)).measure(test)
            rows[f"{prep}/{c}"] = dict(row, split=split, size=size, n_train=len(tr), n_test=len(te))
            print(f"{prep} ({split}, {size} px) {c}: {len(te)} test vs {len(tr)} train: nearest SSIM "
                  f"{row['nearest_ssim']:.3f}, MS-SSIM ratio {row['ms_ssim_ratio']:.3f}, copy rate {row['copy_rate']:.3f}",
                  flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
