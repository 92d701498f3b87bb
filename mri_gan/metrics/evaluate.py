"""`evaluate_sets`: every metric of one fake set against one real set, as one JSON-able dict;
`evaluate_dirs`: the same from two image folders, writing JSON + figure + a metrics.jsonl line.

Reading the numbers (details in each module's docstring):
- psnr / mse / ssim: how close each fake is to a real image, under the `nearest` pairing (its most
  similar real image) and the `random` pairing (a random real image). High `nearest` SSIM alone
  can mean memorization: read it with `copy_rate`.
- fid (lower is better, 0 = same feature statistics) and kid (same, unbiased; std over subsets).
- precision (fakes that look real), recall (real variety the fakes cover), density, coverage.
- ms_ssim_fake vs ms_ssim_real: mode collapse shows as fake >> real.
- copy_rate: share of fakes closer to a training image than almost all training images are to
  each other (calibrated threshold, see memorization.py).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError
import mri_gan.metrics.distribution as distribution
import mri_gan.metrics.diversity as diversity
import mri_gan.metrics.memorization as memorization
import mri_gan.metrics.pixel as pixel

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _log(msg: str, enabled: bool) -> None:
    if enabled:
        import sys

        print(msg, file=sys.stderr, flush=True)


def evaluate_sets(real_uint8: np.ndarray, fake_uint8: np.ndarray, eval_cfg, train_real_uint8: np.ndarray | None = None,
                  feature_fn=None, progress: bool = True, figure_path: str | Path | None = None) -> dict:
    """All metrics of `fake_uint8` against `real_uint8` (uint8 (N, H, W), same size).

    `train_real_uint8`: the training images for the memorization audit (default: `real_uint8`).
    `feature_fn`: uint8 images -> activations (N, D) (see features.py); None skips fid, kid,
    precision, recall, density, coverage and the feature copy audit (reported as null).
    `figure_path`: where to write the worst-examples PNG (fake | nearest training image).
    """
    t0 = time.perf_counter()
    real = pixel._check_set(real_uint8, "real images")
    fake = pixel._check_set(fake_uint8, "fake images")
    train = real if train_real_uint8 is None else pixel._check_set(train_real_uint8, "training images")
    if train is not real and train.shape == real.shape and np.array_equal(train, real):
        train = real  # the same images passed twice: reuse the nearest search and the features
    for name, a in (("real", real), ("fake", fake), ("training", train)):
        if len(a) < 2:
            raise MriGanError(f"need at least 2 {name} images to compare sets, got {len(a)}")
    if fake.shape[1:] != real.shape[1:] or train.shape[1:] != real.shape[1:]:
        raise MriGanError(f"image sizes differ: real {real.shape[1:]}, fake {fake.shape[1:]}, train {train.shape[1:]}")
    times = {}

    _log(f"pixel metrics: {len(fake)} fakes vs {len(real)} reals at {real.shape[1]}x{real.shape[2]}", progress)
    t = time.perf_counter()
    pix = pixel.pixel_metrics(real, fake, eval_cfg, show_progress=progress)
    times["pixel_s"] = time.perf_counter() - t

    result = {k: pix[k] for k in ("psnr", "mse", "ssim")}
    dist_keys = ("fid", "kid", "precision", "recall", "density", "coverage")
    result.update({k: None for k in dist_keys})
    fake_act = real_act = train_act = None
    if feature_fn is not None:
        _log("features", progress)
        t = time.perf_counter()
        real_act = np.asarray(feature_fn(real), np.float64)
        fake_act = np.asarray(feature_fn(fake), np.float64)
        train_act = real_act if train is real else np.asarray(feature_fn(train), np.float64)
        times["features_s"] = time.perf_counter() - t
        t = time.perf_counter()
        result["fid"] = distribution.frechet_distance(real_act, fake_act)
        k = distribution.kid(real_act, fake_act, eval_cfg.kid_subsets, eval_cfg.kid_subset_size, eval_cfg.seed)
        result["kid"] = {"mean": k["mean"], "std": k["std"]}
        k_nn = min(eval_cfg.pr_k, len(real) - 1, len(fake) - 1)
        if k_nn >= 1:
            result.update(distribution.precision_recall_density_coverage(real_act, fake_act, k_nn))
        times["distribution_s"] = time.perf_counter() - t

    _log("diversity (MS-SSIM)", progress)
    t = time.perf_counter()
    result["ms_ssim_fake"] = diversity.mean_pairwise_ms_ssim(fake, eval_cfg.ms_ssim_pairs, eval_cfg.seed)
    result["ms_ssim_real"] = diversity.mean_pairwise_ms_ssim(real, eval_cfg.ms_ssim_pairs, eval_cfg.seed)
    times["diversity_s"] = time.perf_counter() - t

    _log("memorization audit", progress)
    t = time.perf_counter()
    nearest = (pix["nearest_index"], pix["nearest_ssim"]) if train is real else None
    mem = memorization.memorization(fake, train, eval_cfg, fake_act, train_act, show_progress=progress, nearest=nearest)
    times["memorization_s"] = time.perf_counter() - t
    result["copy_rate"] = mem["copy_rate"]
    result["copy_rate_features"] = mem.get("copy_rate_features")
    result["memorization"] = {k: v for k, v in mem.items() if not k.startswith("_")}
    worst = np.argsort(-mem["_nearest_ssim"], kind="stable")[:max(0, eval_cfg.worst_examples)]
    result["memorization"]["closest_fakes"] = [
        {"fake": int(i), "train": int(mem["_nearest_index"][i]), "ssim": float(mem["_nearest_ssim"][i])} for i in worst]
    if figure_path is not None and eval_cfg.worst_examples > 0:
        memorization.worst_examples_figure(fake, train, mem["_nearest_index"], mem["_nearest_ssim"],
                                           eval_cfg.worst_examples, figure_path, mem["copy_threshold_ssim"])
        result["figure"] = str(figure_path)

    pf, fs = diversity.ms_ssim_params(min(real.shape[1:]))
    result.update({
        "counts": {"real": int(len(real)), "fake": int(len(fake)), "train_real": int(len(train))},
        "size": [int(real.shape[1]), int(real.shape[2])],
        "features": getattr(feature_fn, "name", None if feature_fn is None else type(feature_fn).__name__),
        "feature_dim": None if real_act is None else int(real_act.shape[1]),
        "seeds": {"eval": int(eval_cfg.seed)},
        "settings": {
            "pairing": "nearest = most similar real by SSIM (shortlist by MSE on downsized images); "
                       "random = seeded uniform real image",
            "shortlist_k": eval_cfg.shortlist_k, "shortlist_size": eval_cfg.shortlist_size,
            "shortlist_normalize": eval_cfg.shortlist_normalize,
            "psnr_cap": eval_cfg.psnr_cap, "ssim": "as tf.image.ssim (keras.ops): gaussian 11 px, sigma 1.5, images in [0, 1]",
            "kid_subsets": eval_cfg.kid_subsets, "kid_subset_size": eval_cfg.kid_subset_size, "pr_k": eval_cfg.pr_k,
            "ms_ssim_pairs": eval_cfg.ms_ssim_pairs, "ms_ssim_power_factors": list(pf), "ms_ssim_filter_size": fs,
            "copy_quantile": eval_cfg.copy_quantile,
        },
        "eval_config": dataclasses.asdict(eval_cfg),
        "times": {k: round(v, 2) for k, v in times.items()},
        "wall_s": round(time.perf_counter() - t0, 2),
    })
    return result


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, dict):
        return f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f}"
    return f"{v:.{digits}f}"


def format_table(result: dict) -> str:
    """A short human-readable table of an `evaluate_sets` result."""
    c = result["counts"]
    lines = [f"{c['fake']} fakes vs {c['real']} reals ({c['train_real']} training images for the copy audit), "
             f"{result['size'][0]}x{result['size'][1]} px, features: {result.get('features') or 'none'}",
             f"{'metric':<12}{'nearest real':>24}{'random real':>24}"]
    for m, d in (("psnr", 2), ("mse", 5), ("ssim", 4)):
        lines.append(f"{m.upper():<12}{_fmt(result[m]['nearest'], d):>24}{_fmt(result[m]['random'], d):>24}")
    kid = result.get("kid")
    kid_s = "n/a" if kid is None else f"{kid['mean']:.5f} ± {kid['std']:.5f}"
    lines += [
        f"FID {_fmt(result.get('fid'), 3)}   KID {kid_s}",
        f"precision {_fmt(result.get('precision'), 3)}   recall {_fmt(result.get('recall'), 3)}   "
        f"density {_fmt(result.get('density'), 3)}   coverage {_fmt(result.get('coverage'), 3)}",
        f"MS-SSIM within fakes {_fmt(result['ms_ssim_fake'], 4)}   within reals {_fmt(result['ms_ssim_real'], 4)}",
        f"copy rate {_fmt(result['copy_rate'], 4)} (pixel SSIM > {result['memorization']['copy_threshold_ssim']:.4f})"
        + ("" if result.get("copy_rate_features") is None else f"   by features {result['copy_rate_features']:.4f}"),
    ]
    return "\n".join(lines)


def list_image_files(folder: str | Path) -> list[Path]:
    """PNG/JPEG files under `folder`, recursively, sorted (hidden files and folders skipped)."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_dir(folder: str | Path, what: str) -> tuple[list[np.ndarray], list[str]]:
    """Decode every image under `folder` as grayscale uint8 (a one-line error names any bad file);
    returns the images and their paths relative to `folder`."""
    import cv2

    folder = Path(folder)
    if not folder.is_dir():
        raise MriGanError(f"{what} directory not found: {folder}")
    files = list_image_files(folder)
    if not files:
        raise MriGanError(f"no PNG/JPEG images under {what} directory {folder}")
    out = []
    for p in files:
        img = cv2.imdecode(np.fromfile(str(p), dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise MriGanError(f"cannot decode {p} ({what})")
        out.append(img)
    return out, [str(p.relative_to(folder)) for p in files]


def to_common_size(sets: dict[str, list[np.ndarray]]) -> tuple[dict[str, np.ndarray], int, list[str]]:
    """Stack each set at one square size: the smallest side found (downsizing only, INTER_AREA)."""
    import cv2

    shapes = {s.shape for imgs in sets.values() for s in imgs}
    size = min(min(s) for s in shapes)
    notes = []
    if len(shapes) > 1 or any(h != w for h, w in shapes):
        notes.append(f"images have {len(shapes)} different sizes; all resized to {size}x{size} px (area averaging)")
    out = {}
    for name, imgs in sets.items():
        out[name] = np.stack([img if img.shape == (size, size) else cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
                              for img in imgs])
    return out, size, notes


def _guess_prep(real_dir: Path) -> Path | None:
    """PREP when `real_dir` is PREP/<split>/<class> or PREP/<split>."""
    for cand in (real_dir.parent.parent, real_dir.parent, real_dir):
        if (cand / "prepare.json").is_file():
            return cand
    return None


def evaluate_dirs(real_dir, fake_dir, out_json, cfg, features: str | None = None, train_real_dir=None,
                  prep=None, progress: bool = True) -> dict:
    """Evaluate the images under `fake_dir` against those under `real_dir`; write `out_json`, the
    figure `<out>_copies.png` and one line in `metrics.jsonl` beside it. Returns the result."""
    from mri_gan.backend import keep_tensorflow_out
    from mri_gan.metrics.features import get_extractor
    from mri_gan.utils import append_jsonl, write_json

    keep_tensorflow_out()
    out_json = Path(out_json)
    if out_json.suffix.lower() != ".json":
        raise MriGanError(f"--out must be a .json file, got {out_json}")
    if out_json.exists() and out_json.is_dir():
        raise MriGanError(f"--out {out_json} is a directory")
    sets, names = {}, {}
    for key, folder, what in (("real", real_dir, "real"), ("fake", fake_dir, "fake"), ("train", train_real_dir, "training")):
        if folder is not None:
            sets[key], names[key] = read_dir(folder, what)
    arrays, size, notes = to_common_size(sets)
    for n in notes:
        _log(f"note: {n}", True)
    spec = features or cfg.eval.features
    if spec == "classifier" and prep is None:
        prep = _guess_prep(Path(real_dir))
    feature_fn = get_extractor(spec, cfg.eval, cfg.classifier, prep, show_progress=progress)
    figure = out_json.with_name(out_json.stem + "_copies.png")
    result = evaluate_sets(arrays["real"], arrays["fake"], cfg.eval, arrays.get("train"), feature_fn,
                           progress=progress, figure_path=figure)
    result["inputs"] = {"real": str(real_dir), "fake": str(fake_dir),
                        "train_real": None if train_real_dir is None else str(train_real_dir),
                        "prep": None if prep is None else str(prep), "feature_model": getattr(feature_fn, "path", None)}
    result["notes"] = notes
    train_names = names.get("train", names["real"])
    for row in result["memorization"]["closest_fakes"]:
        row["fake_file"], row["train_file"] = names["fake"][row["fake"]], train_names[row["train"]]
    result["table"] = format_table(result)
    write_json(out_json, result)
    append_jsonl(out_json.parent / "metrics.jsonl",
                 {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "out": str(out_json),
                  **{k: v for k, v in result.items() if k != "table"}})
    return result
