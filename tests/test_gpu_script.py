"""benchmarks/gpu/: the bundle for a lent GPU machine and the script that trains there.

The device (JAX, no TensorFlow, no network) is not lent to every task, so the script is tested
here on the CPU at 32 px through the same code path: `make_bundle.py --no-wheels` on a tiny
prepared dir, then `bash benchmarks/gpu/run_256.sh` with SIZE=32 and a 40 s budget (slow). The
fast tests check the JPEG round trip and the stop/measure decisions of `TimeBudget` on a fake clock.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import make_prep
from tests.jax_runner import ROOT, jax_env, needs_jax

sys.path.insert(0, str(ROOT / "benchmarks" / "gpu"))
import make_bundle  # noqa: E402
import train_budget  # noqa: E402


def test_bundle_round_trip_gives_a_prepared_dir(tmp_path):
    import cv2

    from mri_gan.data.pipeline import list_split, load_uint8

    prep = make_prep(tmp_path / "prep", size=32, n_train=40, n_test=4)
    manifest = make_bundle.main(["--prep", str(prep), "--out", str(tmp_path / "b"), "--no-wheels", "--others", "10"])
    assert manifest["wheels"] == [] and manifest["counts"]["glioma"] == {"carried": 40, "of": 40}
    assert manifest["counts"]["notumor"] == {"carried": 10, "of": 40}
    assert not (tmp_path / "b" / "data" / "test").exists() and len(list((tmp_path / "b").rglob("*.png"))) == 0

    info = train_budget.unpack(tmp_path / "b" / "data", tmp_path / "p", 32)
    assert info["size"] == 32 and info["classes"] == ["glioma", "meningioma", "notumor", "pituitary"]
    paths, labels, names = list_split(tmp_path / "p", "train", ["glioma"])
    assert len(paths) == 40 and set(labels.tolist()) == {0}
    got = load_uint8(paths)
    want = load_uint8(list_split(prep, "train", ["glioma"])[0])
    assert got.shape == (40, 32, 32) and np.abs(got.astype(int) - want).mean() < 4  # JPEG q90: close, not equal
    # a bundle is resized on the device when SIZE differs from the carried size
    assert train_budget.unpack(tmp_path / "b" / "data", tmp_path / "p16", 16)["size"] == 16
    assert cv2.imread(str(next((tmp_path / "p16" / "train" / "glioma").glob("*.png"))), 0).shape == (16, 16)


def test_bundle_keeps_the_images_under_the_cap(tmp_path):
    prep = make_prep(tmp_path / "prep", size=32, n_train=40, n_test=4)
    make_bundle.main(["--prep", str(prep), "--out", str(tmp_path / "a"), "--no-wheels", "--others", "1"])
    glioma = make_bundle.folder_bytes(tmp_path / "a" / "data" / "train" / "glioma")
    one = glioma + 3 * 5 * glioma // 40  # glioma + about 5 images of each other class
    m = make_bundle.main(["--prep", str(prep), "--out", str(tmp_path / "b"), "--no-wheels", "--max-mb", str(one / 1e6)])
    assert m["data_bytes"] <= one and m["counts"]["glioma"]["carried"] == 40
    assert all(0 < m["counts"][c]["carried"] < 10 for c in ("meningioma", "notumor", "pituitary"))
    with pytest.raises(SystemExit, match="lower --quality"):
        make_bundle.main(["--prep", str(prep), "--out", str(tmp_path / "c"), "--no-wheels", "--max-mb", "0.01"])


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def perf_counter(self):
        return self.now

    def strftime(self, fmt):
        return "00:00:00"


class FakeMonitor:
    """What TimeBudget uses of mri_gan.gans.monitor.QualityMonitor."""

    def __init__(self, every, images_per_epoch, clock, eval_s=5.0):
        self.every, self.images_per_epoch, self.clock, self.eval_s = every, images_per_epoch, clock, eval_s
        self.next_due = every
        self.rows = []

    def _due_after(self, kimg):
        return (np.floor(kimg / self.every + 1e-9) + 1) * self.every

    def on_epoch_end(self, epoch, logs=None):
        kimg = (epoch + 1) * self.images_per_epoch / 1000
        if kimg + 1e-9 < self.next_due:
            return
        self.next_due = self._due_after(kimg)
        self.clock.now += self.eval_s
        self.rows.append({"epoch": epoch + 1, "kimg": kimg, "kid": 0.1, "eval_seconds": self.eval_s})


def drive(monkeypatch, budget_s, epochs, epoch_s, first_s, every=480.0, eval_s=30.0, kimg_epochs=None):
    """Run TimeBudget over `epochs` fake epochs; returns (callback, monitor, epochs trained)."""
    clock = FakeClock()
    monkeypatch.setattr(train_budget, "time", clock)
    mon = FakeMonitor(every, 1000, clock)  # 1 kimg per epoch
    holder = {"monitor": mon, "images_per_epoch": 1000}
    cb = train_budget.TimeBudget.make(clock.now + budget_s, 10.0, eval_s, holder, 20.0)
    model = type("FakeModel", (), {"stop_training": False})()
    cb.set_model(model)
    cb.set_params({"epochs": kimg_epochs or 10**6})
    cb.on_train_begin()
    for e in range(epochs):
        cb.on_epoch_begin(e)
        clock.now += first_s if e == 0 else epoch_s
        cb.on_train_batch_end(0)
        mon.on_epoch_end(e)  # the monitor's epoch end runs before TimeBudget's (run_fit's order)
        cb.on_epoch_end(e, {})
        if model.stop_training:
            return cb, mon, e + 1
    return cb, mon, epochs


def test_time_budget_tunes_the_interval_and_stops_on_time(monkeypatch):
    # 100 s budget, 10 s kept at the end, first epoch 20 s (compilation), then 2 s each; a
    # measurement every 30 s of training = every 15 kimg, measurements cost 5 s
    cb, mon, n = drive(monkeypatch, 100.0, 1000, 2.0, 20.0)
    assert mon.every == 15.0  # tuned at the third epoch end: 1000 img / 2 s * 30 s
    assert cb.reason and cb.reason.startswith("time budget")
    assert [r["epoch"] for r in mon.rows][:2] == [15, 30]
    assert mon.rows[-1]["epoch"] == n == 30  # stopped right after a measurement: one more epoch + one would not fit
    assert not cb.forced and train_budget.time.now <= 1000.0 + 100.0 - 10.0


def test_time_budget_measures_the_epoch_it_stops_at(monkeypatch):
    # a measurement every 200 s of training never comes inside 100 s: the stop epoch is measured
    cb, mon, n = drive(monkeypatch, 100.0, 1000, 2.0, 20.0, eval_s=200.0)
    assert [r["epoch"] for r in mon.rows] == [n] and cb.forced and cb.reason.startswith("time budget")
    assert 1000.0 + 100.0 - 10.0 - 2.0 - 20.0 <= train_budget.time.now <= 1000.0 + 100.0 - 10.0


def test_time_budget_measures_once_even_past_the_budget(monkeypatch):
    cb, mon, n = drive(monkeypatch, 10.0, 50, 2.0, 30.0)  # compilation alone outlasts the budget
    assert n == 1 and [r["epoch"] for r in mon.rows] == [1] and cb.forced


def test_time_budget_measures_the_last_epoch_of_train_kimg(monkeypatch):
    cb, mon, n = drive(monkeypatch, 1000.0, 12, 2.0, 2.0, kimg_epochs=12)
    assert n == 12 and mon.rows[-1]["epoch"] == 12 and cb.reason is None


@pytest.mark.slow
@needs_jax
def test_run_256_sh_end_to_end_on_the_cpu_at_32_px(tmp_path):
    prep = make_prep(tmp_path / "prep", size=32, n_train=64, n_test=4)
    bundle = tmp_path / "bundle"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu" / "make_bundle.py"), "--prep", str(prep),
                    "--out", str(bundle), "--no-wheels"], check=True, cwd=ROOT, capture_output=True)
    out = tmp_path / "out"
    env = jax_env(SIZE=32, BUDGET_S=40, OUT=out, WORK=tmp_path / "work", BUNDLE=bundle, PYTHON=sys.executable,
                  CLASS="glioma")
    for k in ("OVERRIDES", "EVAL_S"):
        env.pop(k, None)
    p = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu" / "run_256.sh")], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=840)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    assert rows and {"kid", "fid", "recall", "coverage", "ms_ssim_ratio", "nearest_ssim", "copy_rate"} <= set(rows[-1])
    import cv2

    grid = cv2.imread(str(out / "samples.png"), cv2.IMREAD_GRAYSCALE)
    assert grid is not None and grid.shape == (8 * 32 + 9 * 2,) * 2 and grid.std() > 0
    r = json.loads((out / "result.json").read_text())
    assert r["images_per_second"] > 0 and r["kind"] == "dcgan" and r["size"] == 32
    assert r["versions"]["backend"] == "jax" and r["tensorflow_imported"] is False
    assert "peak_memory" in r and r["measurements"] == len(rows) and r["epochs"] >= 1
    assert (out / "config.yaml").is_file() and (out / "history.jsonl").is_file() and (out / "log.txt").is_file()
    assert len(list(out.iterdir())) <= 8  # the device tool brings back at most 8 files
