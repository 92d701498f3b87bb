"""The JAX side of tests/metrics/test_ssim_backends.py, in a child process:
`python ssim_probe.py IN.npz OUT.npz` under KERAS_BACKEND=jax reads uint8 image pairs
(`<size>_a`, `<size>_b`, (N, S, S)), scores them with the library's own entry points
(pixel.pair_scores, diversity.ms_ssim_pairs, FeatureExtractor._prepare) and writes the results,
then prints `RESULT {json}` saying whether TensorFlow got imported."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def fake_model(hw: int, channels: int):
    """What FeatureExtractor reads of a model: its input shape (no model is built)."""
    return SimpleNamespace(inputs=[SimpleNamespace(shape=(None, hw, hw, channels))])


def main(inp: Path, out: Path) -> dict:
    import keras

    from mri_gan.metrics import diversity, pixel
    from mri_gan.metrics.features import FeatureExtractor

    res = {}
    with np.load(inp) as f:
        data = {k: f[k] for k in f.files}
    for key in sorted(k for k in data if k.endswith("_a")):
        size = key[:-2]
        a, b = data[key], data[f"{size}_b"]
        s = pixel.pair_scores(a, b, psnr_cap=np.inf)
        for m in ("psnr", "mse", "ssim"):
            res[f"{size}_{m}"] = s[m]
        res[f"{size}_ms_ssim"] = diversity.ms_ssim_pairs(a, b)
        for hw, ch in ((int(size) // 2, 1), (int(size) + 11, 3)):  # down- and upsizing, gray -> RGB
            res[f"{size}_prep_{hw}_{ch}"] = np.asarray(FeatureExtractor(fake_model(hw, ch), "probe")._prepare(a[:8]))
    np.savez(out, **res)
    return {"backend": keras.backend.backend(), "tensorflow": "tensorflow" in sys.modules}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    print("RESULT " + json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
