"""Calibrate data.near_threshold and data.group_threshold on a real dataset.

    python benchmarks/calibrate_thresholds.py ROOT OUTDIR

Prints (and writes OUTDIR/calibration.json):
- pairs per Hamming distance of the 256-bit pHash over all image pairs, split into same-class
  and cross-class pairs (cross-class pairs are certainly distinct images: a lower bound on
  false links);
- the distance between each of 500 random images and a re-encoded copy of it (resized to 40-90 %,
  JPEG quality 60-95, new black border): what "the same image" looks like;
- for a range of thresholds: linked pairs, cross-class links, groups, largest group;
and draws example pairs per distance band into OUTDIR/pairs_by_distance.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from mri_gan.config import DataConfig
from mri_gan.data.analyze import Params, analyze_files
from mri_gan.data.crop import crop_margin, pad_square
from mri_gan.data.discover import discover
from mri_gan.data.hashing import as_array, distance_histogram, hamming, pairs_within, phash
from mri_gan.data.readers import read_gray


def perturbed_hash(path: str, cfg: DataConfig, rng: np.random.Generator) -> bytes:
    g = read_gray(path)
    f = rng.uniform(0.4, 0.9)
    g = cv2.resize(g, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    _, buf = cv2.imencode(".jpg", g, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
    g = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    b = int(rng.integers(0, 40))
    g = cv2.copyMakeBorder(g, b, b, b // 2, b // 2, cv2.BORDER_CONSTANT, value=0)
    return phash(pad_square(crop_margin(g, cfg.crop_threshold)))


def main(root: str, outdir: str) -> None:
    cfg = DataConfig()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    found = discover(root)
    recs = analyze_files([it.path for it in found.items], Params.from_cfg(cfg, 64), 0, desc="hash")
    ok = [i for i, r in enumerate(recs) if r["reason"] is None]
    H = as_array([recs[i]["hash"] for i in ok])
    cls = np.array([found.items[i].cls for i in ok])
    n = len(ok)
    hist_all = distance_histogram(H)
    pairs = pairs_within(H, 90)
    cross = cls[pairs[:, 0]] != cls[pairs[:, 1]]
    hist_cross = np.bincount(pairs[cross, 2], minlength=91)
    rng = np.random.default_rng(0)
    sample = rng.choice(n, 500, replace=False)
    pert = np.array([hamming(recs[ok[i]]["hash"], perturbed_hash(found.items[ok[i]].path, cfg, rng))
                     for i in sample])
    rows = []
    for t in range(0, 62, 2):
        sel = pairs[pairs[:, 2] <= t]
        g = coo_matrix((np.ones(len(sel)), (sel[:, 0], sel[:, 1])), shape=(n, n))
        k, lab = connected_components(g, directed=False)
        sizes = np.bincount(lab)
        rows.append({"threshold": t, "pairs": int(len(sel)),
                     "cross_class_pairs": int((cls[sel[:, 0]] != cls[sel[:, 1]]).sum()),
                     "reencoded_recall": round(float((pert <= t).mean()), 3),
                     "groups": int(k), "largest_group": int(sizes.max()),
                     "images_in_groups": int(sizes[sizes > 1].sum())})
    print("t  pairs  cross  recall  groups  largest  in-groups")
    for r in rows:
        print(f"{r['threshold']:2d} {r['pairs']:6d} {r['cross_class_pairs']:6d} {r['reencoded_recall']:6.3f} "
              f"{r['groups']:6d} {r['largest_group']:7d} {r['images_in_groups']:9d}")
    print("re-encoded copy distance percentiles 50/90/95/99/max:",
          np.percentile(pert, [50, 90, 95, 99, 100]).tolist())
    # example pairs per distance band
    tiles_rows = []
    bands = [(0, 4), (6, 10), (12, 16), (18, 20), (22, 28), (30, 36), (38, 44), (46, 52), (60, 70)]
    for lo, hi in bands:
        sel = pairs[(pairs[:, 2] >= lo) & (pairs[:, 2] <= hi)]
        if len(sel) == 0:
            continue
        pick = sel[rng.choice(len(sel), min(6, len(sel)), replace=False)]
        tiles = []
        for i, j, d in pick:
            a = [cv2.imdecode(np.frombuffer(recs[ok[k]]["png"], np.uint8), 0) for k in (i, j)]
            t = cv2.resize(np.hstack(a), (192, 96), interpolation=cv2.INTER_AREA)
            t = cv2.copyMakeBorder(t, 14, 2, 2, 2, cv2.BORDER_CONSTANT, value=255)
            cv2.putText(t, f"d{d} {cls[i][:4]}/{cls[j][:4]}", (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38, 0, 1)
            tiles.append(t)
        while len(tiles) < 6:
            tiles.append(np.full_like(tiles[0], 255))
        tiles_rows.append(np.hstack(tiles))
    cv2.imwrite(str(out / "pairs_by_distance.png"), np.vstack(tiles_rows))
    result = {"n_images": n, "hist_all": hist_all[:91].tolist(), "hist_cross_class": hist_cross.tolist(),
              "reencoded_distances": np.bincount(pert).tolist(), "thresholds": rows}
    (out / "calibration.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
