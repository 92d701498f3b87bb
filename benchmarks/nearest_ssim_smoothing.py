"""Diagnostic for the nearest-real SSIM gap: how much of it is high-frequency noise? The mean
nearest-real SSIM (the quality probe's measurement: SSIM against the real training image the
shortlist finds closest) of a folder of fakes as they are and after light smoothing (Gaussian
3x3 sigma 0.5, 5x5 sigma 0.8, median 3x3), beside the same for the class's real test images. If
smoothing raises the fakes' score much more than the reals', the fakes carry pixel noise the real
slices do not; what smoothing leaves is a gap in structure.

    python benchmarks/nearest_ssim_smoothing.py --data runs/prep64 --class glioma syn/glioma/glioma [--n 920]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

FILTERS = {
    "as is": None,
    "gauss 3x3 s0.5": ("gauss", 3, 0.5),
    "gauss 5x5 s0.8": ("gauss", 5, 0.8),
    "median 3x3": ("median", 3, 0.0),
}


def _smooth(images, spec):
    import cv2
    import numpy as np

    if spec is None:
        return images
    kind, k, sigma = spec
    if kind == "gauss":
        return np.stack([cv2.GaussianBlur(x, (k, k), sigma) for x in images])
    return np.stack([cv2.medianBlur(x, k) for x in images])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fakes", help="folder of synthetic PNGs (one class)")
    ap.add_argument("--data", required=True, help="prepared dir (its train/ and test/ of the class)")
    ap.add_argument("--class", dest="class_name", required=True)
    ap.add_argument("--n", type=int, default=920, help="fakes to score (the first N by name)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from mri_gan.config import Config
    from mri_gan.data.pipeline import list_split, load_uint8
    from mri_gan.errors import MriGanError
    from mri_gan.gans.batches import decode_all
    from mri_gan.metrics.pixel import nearest_real

    cfg = Config().eval
    tr, _, _ = list_split(args.data, "train", [args.class_name])
    te, _, _ = list_split(args.data, "test", [args.class_name])
    paths = sorted(Path(args.fakes).glob("*.png"))[: args.n]
    if not paths or not tr:
        raise SystemExit(f"error: no PNGs in {args.fakes} or no training images of {args.class_name} in {args.data}")
    fake = load_uint8([str(p) for p in paths])
    real = decode_all(tr, fake.shape[1])[..., 0]
    test = decode_all(te, real.shape[1])[..., 0] if te else None
    print(f"| {args.class_name} | filter | fakes ({len(fake)}) | real test ({0 if test is None else len(test)}) |")
    print("|---|---|---|---|")
    for name, spec in FILTERS.items():
        row = []
        for imgs in (fake, test):
            if imgs is None:
                row.append("–")
                continue
            try:
                _, s = nearest_real(_smooth(imgs, spec), real, cfg.shortlist_k, cfg.shortlist_size,
                                    show_progress=False, normalize=cfg.shortlist_normalize)
            except MriGanError as e:
                raise SystemExit(f"error: {e}")
            row.append(f"{float(np.mean(s)):.3f}")
        print(f"| {args.class_name} | {name} | {row[0]} | {row[1]} |", flush=True)


if __name__ == "__main__":
    main()
