"""Shared fixtures: tiny prepared dirs made of synthetic 'heads', so no test needs ../shared."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MRIGAN_PROGRESS", "0")

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


def synthetic_head(size: int, cls: int, rng: np.random.Generator) -> np.ndarray:
    """A bright ellipse on black with a class-specific blob: easy to tell apart, never identical."""
    import cv2

    img = np.zeros((size, size), np.uint8)
    c = size // 2 + int(rng.integers(-2, 3))
    axes = (int(size * rng.uniform(0.30, 0.40)), int(size * rng.uniform(0.36, 0.44)))
    cv2.ellipse(img, (c, c), axes, 0, 0, 360, int(rng.integers(90, 130)), -1)
    # class signal: a blob whose position depends on the class (none for class 2 = "notumor")
    spots = {0: (0.35, 0.35), 1: (0.65, 0.35), 3: (0.5, 0.68)}
    if cls in spots:
        fx, fy = spots[cls]
        r = max(2, size // 8)
        cv2.circle(img, (int(size * fx), int(size * fy)), r, 230, -1)
    noise = rng.normal(0, 6, img.shape)
    img = np.clip(img.astype(np.float32) + noise * (img > 0), 0, 255).astype(np.uint8)
    return img


def make_prep(root: Path, size: int = 32, n_train: int = 24, n_test: int = 8, classes=None, seed: int = 0) -> Path:
    import cv2

    classes = list(classes or CLASSES)
    rng = np.random.default_rng(seed)
    counts = {}
    for split, n in (("train", n_train), ("test", n_test)):
        counts[split] = {}
        for ci, name in enumerate(classes):
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                cv2.imwrite(str(d / f"{name}_{i:04d}.png"), synthetic_head(size, CLASSES.index(name) if name in CLASSES else ci, rng))
            counts[split][name] = n
    info = {"size": size, "classes": sorted(classes), "split": "dedup", "counts": counts, "synthetic_fixture": True}
    (root / "prepare.json").write_text(json.dumps(info))
    return root


@pytest.fixture
def tiny_prep(tmp_path) -> Path:
    """A prepared dir: 32 px, 4 classes, 24 train + 8 test images per class."""
    return make_prep(tmp_path / "prep")


@pytest.fixture
def tiny_prep_factory(tmp_path):
    counter = {"n": 0}

    def factory(size=32, n_train=24, n_test=8, classes=None, seed=0):
        counter["n"] += 1
        return make_prep(tmp_path / f"prep{counter['n']}", size, n_train, n_test, classes, seed)

    return factory


_FRESH_FIT = r"""
import sys, json
import numpy as np
from mri_gan.config import load_config
from mri_gan.gans.fit import run_fit

a = json.loads(sys.argv[1])
cfg = load_config(None, a["settings"])
r = run_fit(a["data"], a["cls"], a["run"], cfg, resume=a["resume"], epochs=a["epochs"], verbose=0)
gan = r["gan"]
state = [np.array(w) for m in (gan.generator, gan.discriminator, gan.ema_generator) for w in m.weights]
state += [np.array(gan.g_optimizer.iterations), np.array(gan.d_optimizer.iterations), np.array(gan.seed_generator.state)]
np.savez(a["out"], *state)
print("START " + json.dumps([r["start_epoch"], r["start_batch"]]))
"""


def fresh_fit(run: Path, settings: dict, epochs: int, data=None, cls=None, resume: bool = False):
    """Train (or `resume`) a GAN run in a fresh Python process, as `mrigan-tf fit` does. Returns
    its end state (every weight of G, D and the EMA generator, both optimizers' step counts, the
    step's seed state) and the (epoch, batch) it started from. Runs compared for bit-equality are each made this way, so no state of
    the long pytest process enters either side."""
    import subprocess
    import sys

    out = Path(str(run) + "-state.npz")
    args = {"settings": [f"{k}={v}" for k, v in settings.items()], "data": None if data is None else str(data),
            "cls": cls, "run": str(run), "resume": resume, "epochs": epochs, "out": str(out)}
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    p = subprocess.run([sys.executable, "-c", _FRESH_FIT, json.dumps(args)], cwd=Path(__file__).resolve().parents[1],
                       env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    start = [line for line in p.stdout.splitlines() if line.startswith("START ")]
    with np.load(out) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))], tuple(json.loads(start[-1][6:]))
