"""Where an in-training quality measurement's time goes (`QualityProbe.measure`, mri_gan/metrics/quality.py).

    python benchmarks/profile_quality_probe.py --prep prep64 [--real-class glioma] [--fake-class meningioma] [--n 920]

Stand-ins: the first N training images of --fake-class play the fakes, --real-class's training
images the reals (what `fit` measures against). Times the probe's one-off set-up (the reals'
features, their MS-SSIM, the copy threshold; the feature classifier itself must already be cached
in PREP/.cache, e.g. by one `fit` measurement or `evaluate`), each part of a measurement alone,
then one whole `measure`. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prep", required=True)
    ap.add_argument("--real-class", default="glioma")
    ap.add_argument("--fake-class", default="meningioma")
    ap.add_argument("--n", type=int, default=920)
    args = ap.parse_args()

    import numpy as np

    from mri_gan.config import Config
    from mri_gan.data.pipeline import list_split, read_prepared_info
    from mri_gan.gans.batches import decode_all
    from mri_gan.metrics import distribution, diversity, pixel
    from mri_gan.metrics.features import get_extractor
    from mri_gan.metrics.quality import QualityProbe

    cfg, size = Config(), int(read_prepared_info(args.prep)["size"])
    real = decode_all(list_split(args.prep, "train", [args.real_class])[0], size)[..., 0]
    fake = decode_all(list_split(args.prep, "train", [args.fake_class])[0][: args.n], size)[..., 0]
    fe = get_extractor(None, cfg.eval, cfg.classifier, prep=args.prep, show_progress=False)
    t = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        t[name] = round(time.perf_counter() - t0, 2)
        return out

    q = timed("probe_setup", lambda: QualityProbe(real, fe, cfg.eval, args.n))
    fa = timed("features", lambda: np.asarray(fe(fake), np.float64))
    e = cfg.eval
    timed("kid_fid_prdc", lambda: (distribution.kid(q.real_act, fa, e.kid_subsets, e.kid_subset_size, e.seed),
                                   distribution.frechet_distance(q.real_act, fa),
                                   distribution.precision_recall_density_coverage(q.real_act, fa,
                                                                                  min(e.pr_k, len(fa) - 1))))
    timed("ms_ssim", lambda: diversity.mean_pairwise_ms_ssim(fake, e.ms_ssim_pairs, e.seed))
    timed("nearest_ssim", lambda: pixel.nearest_real(fake, q.real, e.shortlist_k, e.shortlist_size,
                                                     show_progress=False, normalize=e.shortlist_normalize))
    timed("measure", lambda: q.measure(fake))
    print(json.dumps({"size": size, "n_fake": len(fake), "n_real": len(real), "seconds": t}))


if __name__ == "__main__":
    main()
