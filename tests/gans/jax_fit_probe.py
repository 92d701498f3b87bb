"""What tests/gans/test_jax_fit.py checks on the JAX backend, run in one child process:
`python jax_fit_probe.py WORKDIR [TF_RUN]` under KERAS_BACKEND=jax prints `RESULT {json}`.

- resume: 4 epochs straight == 2 epochs then a continuation to 4 == a Ctrl-C inside epoch 3
  then `resume` (every array of the final checkpoints compared);
- synthesize twice with one seed (PNG bytes), from `--checkpoint best`, and from an export
  (.keras; the SavedModel, TensorFlow being installed here; --no-saved-model);
- the refusal of TF_RUN (a run the TensorFlow test process trained);
- whether TensorFlow got imported before the SavedModel export.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def tiny_cfg():
    from mri_gan.config import Config

    cfg = Config()
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 32, 8, 8, 32, 16
    cfg.train.batch_size, cfg.train.sample_every, cfg.train.eval_every = 8, 0, 0
    cfg.train.ada, cfg.train.ada_target, cfg.train.ada_interval = True, -1.0, 2  # ADA state moves
    return cfg


def arrays(run) -> dict:
    from mri_gan.gans.checkpoint import latest_checkpoint

    with np.load(latest_checkpoint(run) + ".npz") as f:
        return {k: f[k] for k in f.files if k != "__meta__"}


class Interrupt:
    """A Keras callback: KeyboardInterrupt after batch `batch` (0-based) of epoch `epoch`."""

    def __new__(cls, epoch, batch):
        import keras

        class _Stop(keras.callbacks.Callback):
            def on_epoch_begin(self, e, logs=None):
                self.e = e

            def on_train_batch_end(self, b, logs=None):
                if self.e == epoch and b == batch:
                    raise KeyboardInterrupt

        return _Stop()


def main(work: Path, tf_run: str | None) -> dict:
    from mri_gan.errors import MriGanError
    from mri_gan.gans.checkpoint import save_generators
    from mri_gan.gans.export import export_run
    from mri_gan.gans.fit import run_fit
    from mri_gan.gans.synthesis import synthesize
    from mri_gan.utils import read_jsonl
    from tests.conftest import make_prep

    res = {}
    prep = make_prep(work / "prep", size=16, n_train=8, n_test=2, classes=["glioma", "meningioma"])
    straight = run_fit(prep, "all", work / "straight", tiny_cfg(), epochs=4, verbose=0)
    res["steps_per_epoch"] = straight["steps_per_epoch"]
    run_fit(prep, "all", work / "split", tiny_cfg(), epochs=2, verbose=0)
    again = run_fit(prep, "all", work / "split", tiny_cfg(), epochs=4, verbose=0)
    res["split_start"] = again["start_epoch"]
    try:
        run_fit(prep, "all", work / "cut", tiny_cfg(), epochs=4, verbose=0, extra_callbacks=[Interrupt(2, 0)])
        res["interrupted"] = False
    except KeyboardInterrupt:
        res["interrupted"] = True
    cut = run_fit(prep, "all", work / "cut", tiny_cfg(), resume=True, verbose=0)
    res["cut_start"] = [cut["start_epoch"], cut["start_batch"]]
    a = arrays(work / "straight")
    res["ada_p"] = float(a["ada_p/0"])
    res["g_steps"] = int(a["g_optimizer/0"])
    res["keys"] = len(a)
    for name in ("split", "cut"):
        b = arrays(work / name)
        res[f"{name}_same_keys"] = sorted(a) == sorted(b)
        res[f"{name}_max_diff"] = max(float(np.abs(a[k].astype(np.float64) - b[k]).max()) for k in a)
        res[f"{name}_history"] = [round(r["g_loss"], 6) for r in read_jsonl(work / name / "history.jsonl")]
    res["straight_history"] = [round(r["g_loss"], 6) for r in read_jsonl(work / "straight" / "history.jsonl")]

    s1 = synthesize(work / "straight", work / "s1", n=5, seed=3, batch_size=2)
    synthesize(work / "straight", work / "s2", n=5, seed=3, batch_size=2)
    synthesize(work / "straight", work / "s3", n=5, seed=4, batch_size=2)
    files = sorted((work / "s1" / "all").glob("*.png"))
    res["synth_files"] = len(files)
    res["synth_same_bytes"] = all(p.read_bytes() == (work / "s2" / "all" / p.name).read_bytes() for p in files)
    res["synth_other_seed_differs"] = files[0].read_bytes() != (work / "s3" / "all" / files[0].name).read_bytes()
    res["synth_checkpoint"] = s1["checkpoint"]
    # the best-KID snapshot as the quality monitor writes it (the monitor itself needs TF's SSIM)
    save_generators(straight["gan"], work / "straight" / "checkpoints" / "best")
    best = synthesize(work / "straight", work / "sb", n=5, seed=3, batch_size=2, checkpoint="best")
    res["best_checkpoint"] = best["checkpoint"]
    res["best_same_bytes_as_newest"] = all(
        _pixels(p) == _pixels(work / "sb" / "all" / p.name) for p in files)  # same weights, other comment

    res["tensorflow_before_export"] = "tensorflow" in sys.modules
    e1 = export_run(work / "straight", work / "ex1", saved_model=False)
    res["export_keras_only"] = [e1["saved_model"], e1["roundtrip_max_abs_diff"], (work / "ex1" / "saved_model").exists()]
    synthesize(work / "ex1", work / "se", n=5, seed=3, batch_size=2)
    res["export_same_pixels"] = all(_pixels(p) == _pixels(work / "se" / "all" / p.name) for p in files)
    res["tensorflow_after_keras_export"] = "tensorflow" in sys.modules
    e2 = export_run(work / "straight", work / "ex2")
    res["export_saved_model"] = [bool(e2["saved_model"]), e2["roundtrip_max_abs_diff"]]
    if tf_run:
        try:
            run_fit(None, None, tf_run, tiny_cfg(), resume=True, verbose=0)
            res["tf_run_refused"] = None
        except MriGanError as e:
            res["tf_run_refused"] = str(e)
        try:
            synthesize(tf_run, work / "stf", n=2, seed=0)
            res["tf_run_synth_refused"] = None
        except MriGanError as e:
            res["tf_run_synth_refused"] = str(e)
    return res


def _pixels(path) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        return im.tobytes()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    out = main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
    print("RESULT " + json.dumps(out))
