"""Build the folder a lent GPU machine needs to train one class at 256 px: `benchmarks/gpu/bundle/`.

The device (an H100/H200 of the device tool) has JAX, PyTorch and most of the scientific stack,
but no TensorFlow, no Keras and no network, and takes at most 64 MiB of files per call (the git
working tree, about 12 MB, plus the carried paths). This script writes, under --out:

- `wheels/`: the Keras wheel of the version installed here (`pip download keras==X --no-deps`)
  and the Keras requirements the device's image lacks (namex, pure Python; optree, compiled, one
  wheel per --pythons version); `--no-wheels` skips them (the CPU test: the installed Keras runs);
- `data/train/<class>/*.jpg`: the training images of a prepared dir (`mrigan-tf prepare ... --size
  256`) as JPEG (--quality, 90): all of --class, and an equal seeded subset of each other class
  filling the rest of --max-mb (the feature classifier of the quality measurements needs at least
  two classes: mri_gan/metrics/features.py); `data/bundle.json` says what was carried;
- `bundle.json`: the class, size, counts, wheels and what the device is assumed to have.

`run_256.sh` turns the JPEGs back into a prepared dir (PNG + prepare.json) on the device and
trains there. Usage (repository root, venv active):

    python benchmarks/gpu/make_bundle.py --prep runs/prep256 [--class glioma] [--out benchmarks/gpu/bundle]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Keras' requirements (pip show keras) that the device image has (device README, KINDS.md "Python
# packages already there", read 2026-11-17), and those it lacks, which travel as wheels.
KERAS_DEPS_PRESENT = ["absl-py", "h5py", "ml-dtypes", "numpy", "packaging", "rich"]
KERAS_DEPS_CARRIED = {"namex": "pure", "optree": "compiled"}
# What mri_gan's fit + quality path imports besides Keras, assumed present there (same list).
PROJECT_DEPS_PRESENT = ["jax", "opencv-python-headless", "pyyaml", "scipy", "pillow", "click", "tqdm"]
DEVICE_PYTHON = "3.12"  # python3 there: /opt/torch/.venv/bin/python3, Python 3.12.3 (KINDS.md)
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
TRAVEL_LIMIT = 64 * 1024 * 1024  # what one device call takes: working tree + carried paths


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def installed_version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def pip_download(args: list[str], dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), *args]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"pip download failed ({' '.join(args)}):\n{p.stderr[-2000:]}")


def download_wheels(dest: Path, pythons: list[str]) -> list[str]:
    """Keras + the requirements the device lacks into `dest`; returns the distribution names to install."""
    dest.mkdir(parents=True, exist_ok=True)
    pip_download([f"keras=={installed_version('keras')}", "--only-binary=:all:"], dest)
    names = ["keras"]
    for dist, kind in KERAS_DEPS_CARRIED.items():
        spec = f"{dist}=={installed_version(dist)}"
        if kind == "pure":
            pip_download([spec, "--only-binary=:all:"], dest)
        else:
            for py in pythons:
                plat = [x for p in PLATFORMS for x in ("--platform", p)]
                pip_download([spec, "--only-binary=:all:", "--implementation", "cp", "--python-version", py, *plat], dest)
        names.append(dist)
    return names


def encode_jpeg(src: str, dst: Path, quality: int) -> int:
    import cv2
    import numpy as np

    img = cv2.imdecode(np.fromfile(src, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise SystemExit(f"cannot decode {src}")
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SystemExit(f"cannot encode {src} as JPEG")
    dst.write_bytes(buf.tobytes())
    return len(buf)


def write_data(prep: Path, cls: str, out: Path, quality: int, max_bytes: int, others: int | None, seed: int) -> dict:
    """The JPEGs of `cls` (all) and of the other classes (subsets) under out/train/<class>/."""
    import numpy as np

    from mri_gan.data.pipeline import list_split, read_prepared_info

    info = read_prepared_info(prep)
    classes = sorted(info["classes"])
    if cls not in classes:
        raise SystemExit(f"class {cls!r} is not in {prep} (classes: {', '.join(classes)})")
    if out.exists():
        shutil.rmtree(out)
    used, counts = 0, {}
    paths = list_split(prep, "train", [cls])[0]
    if not paths:
        raise SystemExit(f"no training images of {cls} in {prep}")
    (out / "train" / cls).mkdir(parents=True)
    for p in paths:
        used += encode_jpeg(p, out / "train" / cls / (Path(p).stem + ".jpg"), quality)
    counts[cls] = {"carried": len(paths), "of": len(paths)}
    if used > max_bytes:
        raise SystemExit(f"{cls} alone is {used / 1e6:.1f} MB as JPEG q{quality}, over --max-mb {max_bytes / 1e6:.0f}: "
                         "lower --quality")
    rest = [c for c in classes if c != cls]
    pools = {c: list_split(prep, "train", [c])[0] for c in rest}
    rng = np.random.default_rng(seed)
    orders = {c: [pools[c][i] for i in rng.permutation(len(pools[c]))] for c in rest}
    budget_each = (max_bytes - used) // max(1, len(rest))
    for c in rest:  # an equal byte share per class (stops at the share, or at --others images)
        (out / "train" / c).mkdir(parents=True)
        spent, n = 0, 0
        for p in orders[c]:
            if others is not None and n >= others:
                break
            dst = out / "train" / c / (Path(p).stem + ".jpg")
            size = encode_jpeg(p, dst, quality)
            if spent + size > budget_each:
                dst.unlink()
                break
            spent, n = spent + size, n + 1
        used += spent
        counts[c] = {"carried": n, "of": len(pools[c])}
    meta = {"source": str(prep.resolve()), "size": int(info["size"]), "class": cls, "classes": classes,
            "jpeg_quality": int(quality), "seed": seed, "counts": counts,
            "source_prepare": {k: info[k] for k in ("split", "transform", "seed") if k in info}}
    (out / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prep", required=True, help="prepared dir at the training size (mrigan-tf prepare --size 256)")
    ap.add_argument("--class", dest="cls", default="glioma", help="class trained on the device, carried whole")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "gpu" / "bundle"), help="bundle folder (replaced)")
    ap.add_argument("--quality", type=int, default=90, help="JPEG quality")
    ap.add_argument("--max-mb", type=float, default=40.0, help="the images' total size, MB (1e6 bytes)")
    ap.add_argument("--others", type=int, default=None,
                    help="at most this many images of each other class (default: fill --max-mb)")
    ap.add_argument("--seed", type=int, default=0, help="which images of the other classes are carried")
    ap.add_argument("--no-wheels", action="store_true", help="skip the wheels (run_256.sh then uses the installed Keras)")
    ap.add_argument("--pythons", default="3.11,3.12,3.13",
                    help=f"Python versions of the compiled wheels (the device's: {DEVICE_PYTHON})")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    data = write_data(Path(a.prep), a.cls, out / "data", a.quality, int(a.max_mb * 1e6), a.others, a.seed)
    wheels_dir = out / "wheels"
    if wheels_dir.exists():
        shutil.rmtree(wheels_dir)
    names = [] if a.no_wheels else download_wheels(wheels_dir, [v.strip() for v in a.pythons.split(",") if v.strip()])
    manifest = {"class": a.cls, "size": data["size"], "counts": data["counts"], "jpeg_quality": a.quality,
                "install": names, "wheels": sorted(p.name for p in wheels_dir.glob("*.whl")) if names else [],
                "keras": installed_version("keras"),
                "assumed_on_device": {"keras_requirements": KERAS_DEPS_PRESENT, "project": PROJECT_DEPS_PRESENT,
                                      "python": DEVICE_PYTHON},
                "data_bytes": folder_bytes(out / "data"),
                "wheel_bytes": folder_bytes(wheels_dir) if wheels_dir.exists() else 0}
    (out / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = folder_bytes(out)
    manifest["bundle_bytes"] = total
    counts = ", ".join(f"{c} {v['carried']}/{v['of']}" for c, v in data["counts"].items())
    print(f"bundle {out}: {total / 1e6:.1f} MB ({total / 2**20:.1f} MiB): images {manifest['data_bytes'] / 1e6:.1f} MB "
          f"at {data['size']} px, JPEG q{a.quality} ({counts}); wheels {manifest['wheel_bytes'] / 1e6:.1f} MB "
          f"({', '.join(manifest['wheels']) or 'none'})")
    inside = out.resolve().is_relative_to(ROOT)
    try:  # what one device call would carry: the working tree (tracked + untracked, not ignored) + the bundle
        if not inside:
            raise OSError("the bundle is outside the repository: it cannot travel as it is")
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, check=True).stdout.split(b"\0")
        tree = sum((ROOT / f.decode()).stat().st_size for f in files if f and (ROOT / f.decode()).is_file())
        travel = tree + total
        print(f"a device call would carry {travel / 2**20:.1f} MiB of 64 MiB (working tree {tree / 2**20:.1f} MiB)"
              + ("" if travel <= TRAVEL_LIMIT else ": OVER THE LIMIT, lower --max-mb"))
    except (OSError, subprocess.CalledProcessError):
        pass
    return manifest


if __name__ == "__main__":
    main()
