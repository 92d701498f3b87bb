"""Quality while training: metric lines at the set kimg interval, the best-KID snapshot that
`--checkpoint best` loads, resume keeping both, the run length in kimg, and the health warnings."""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest

from mri_gan.config import Config
from mri_gan.utils import read_json, read_jsonl


def _cfg():
    cfg = Config()
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 32, 8, 8, 32, 16
    t = cfg.train
    t.batch_size, t.sample_every, t.ema = 8, 0, 0.5
    t.kimg, t.eval_every, t.eval_n = 0.144, 0.05, 16  # 24 images = 0.024 kimg per epoch -> 6 epochs
    cfg.eval.feature_epochs, cfg.eval.kid_subsets, cfg.eval.kid_subset_size, cfg.eval.ms_ssim_pairs = 1, 5, 8, 20
    return cfg


class _Snapshots(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ema = {}

    def on_epoch_end(self, epoch, logs=None):
        self.ema[epoch + 1] = [np.array(w) for w in self.model.ema_generator.weights]


@pytest.mark.slow
def test_metrics_best_snapshot_and_resume(tmp_path, tiny_prep):
    from mri_gan.gans.synthesis import load_generator
    from mri_gan.gans.fit import run_fit

    snaps = _Snapshots()
    r = run_fit(tiny_prep, "glioma", tmp_path / "a", _cfg(), verbose=0, extra_callbacks=[snaps])
    assert r["epochs"] == 6  # 0.144 kimg / 0.024 kimg per epoch
    rows = read_jsonl(tmp_path / "a" / "metrics.jsonl")
    assert [m["epoch"] for m in rows] == [3, 5]  # first epoch ends past 0.05 and 0.10 kimg
    assert [m["kimg"] for m in rows] == [0.072, 0.12]
    for m in rows:
        assert m["n_fake"] == m["n_real"] == 16
        assert {"kid", "fid", "recall", "coverage", "precision", "ms_ssim_ratio", "nearest_ssim", "copy_rate",
                "d_acc_real", "d_acc_fake", "d_margin"} <= set(m)
    assert [h["kimg"] for h in read_jsonl(tmp_path / "a" / "history.jsonl")] == [0.024, 0.048, 0.072, 0.096, 0.12, 0.144]
    from mri_gan.metrics.quality import meets_targets

    best = max(rows, key=lambda m: (sum(meets_targets(m).values()), -m["kid"]))  # train.best_by: targets
    assert read_json(tmp_path / "a" / "checkpoints" / "best" / "best.json")["epoch"] == best["epoch"]
    g = load_generator(tmp_path / "a", checkpoint="best")
    for a, b in zip(g.model.weights, snaps.ema[best["epoch"]]):
        np.testing.assert_array_equal(np.array(a), b)  # the EMA generator of the best epoch
    assert load_generator(tmp_path / "a").checkpoint == g.checkpoint  # synth.checkpoint auto = the best snapshot
    newest = load_generator(tmp_path / "a", checkpoint="last")
    assert "checkpoints/best" not in newest.checkpoint
    assert any(not np.array_equal(np.array(a), b) for a, b in zip(newest.model.weights, snaps.ema[best["epoch"]])) \
        or best["epoch"] == 6

    # 4 epochs, then resume to 0.144 kimg: the same metric lines as the straight run
    run_fit(tiny_prep, "glioma", tmp_path / "b", _cfg(), kimg=0.096, verbose=0)
    assert [m["epoch"] for m in read_jsonl(tmp_path / "b" / "metrics.jsonl")] == [3]
    run_fit(None, None, tmp_path / "b", _cfg(), resume=True, kimg=0.144, verbose=0)
    rows_b = read_jsonl(tmp_path / "b" / "metrics.jsonl")
    assert [m["epoch"] for m in rows_b] == [3, 5]
    for ra, rb in zip(rows, rows_b):
        for k in ("kid", "recall", "coverage", "ms_ssim_fake", "nearest_ssim"):
            assert ra[k] == pytest.approx(rb[k], abs=1e-4), k
    assert read_json(tmp_path / "b" / "checkpoints" / "best" / "best.json")["epoch"] == best["epoch"]


def test_explicit_epochs_turn_kimg_off_and_kimg_rounds_up():
    from mri_gan.gans.fit import _set_length, epochs_for

    t = Config().train
    t.kimg = 10.0
    assert epochs_for(t, 1311) == 8  # 10,000 images / 1,311 per epoch = 7.6 -> 8
    t.kimg = 0.0
    assert epochs_for(t, 1311) == t.epochs
    src = Config().train
    src.kimg = 5.0
    _set_length(t, src, 7, None)
    assert (t.epochs, t.kimg) == (7, 0.0)
    _set_length(t, src, 7, 3.5)
    assert t.kimg == 3.5


def test_health_warnings_once_each():
    from mri_gan.gans.monitor import CHANCE_KIMG, HealthWarnings

    s = io.StringIO()
    w = HealthWarnings(images_per_epoch=1000, stream=s)
    for e in range(int(CHANCE_KIMG) - 1):
        w.epoch(e + 1, {"d_acc_real": 0.55, "d_acc_fake": 0.5})
    assert s.getvalue() == ""  # 19 kimg at chance: not yet
    w.epoch(20, {"d_acc_real": 0.9, "d_acc_fake": 0.8})  # D recovers: the count restarts
    for e in range(int(CHANCE_KIMG)):
        w.epoch(21 + e, {"d_acc_real": 0.5, "d_acc_fake": 0.5})
    w.epoch(99, {"d_acc_real": 0.5, "d_acc_fake": 0.5})
    assert s.getvalue().count("warning: the discriminator has been at chance") == 1
    w.quality({"ms_ssim_ratio": 3.0, "kimg": 1})
    assert "mode collapse" not in s.getvalue()
    w.quality({"ms_ssim_ratio": 3.0, "kimg": 2})
    w.quality({"ms_ssim_ratio": 3.0, "kimg": 3})
    assert s.getvalue().count("warning:") == 2 and s.getvalue().count("mode collapse") == 1


class _ScriptedProbe:
    """Stands in for QualityProbe: KID (or a whole row: a dict) follows a fixed script, one per measurement."""

    def __init__(self, kids):
        self.kids = list(kids)
        self.calls = 0

    def measure(self, fake_uint8):
        k = self.kids[min(self.calls, len(self.kids) - 1)]
        self.calls += 1
        row = {"n_fake": len(fake_uint8), "n_real": len(fake_uint8), "ms_ssim_ratio": 1.0}
        row.update(k if isinstance(k, dict) else {"kid": k})
        return row


def _scripted(monkeypatch, kids):
    import mri_gan.metrics.quality as quality

    probe = _ScriptedProbe(kids)
    monkeypatch.setattr(quality, "QualityProbe", lambda *a, **k: probe)
    monkeypatch.setattr("mri_gan.metrics.features.get_extractor", lambda *a, **k: None)
    return probe


def test_early_stop_reason_counts_measurements_since_the_best():
    from mri_gan.gans.monitor import early_stop_reason

    rows = [{"epoch": e, "kimg": e, "kid": k} for e, k in enumerate([0.5, 0.3, 0.4, 0.35], 1)]
    for best_by in ("kid", "targets"):  # one target (KID), never met: both rules follow the KID
        assert early_stop_reason(rows, 0, best_by) is None  # off
        assert early_stop_reason(rows[:2], 2, best_by) is None  # the last measurement is the best
        assert early_stop_reason(rows[:3], 2, best_by) is None  # one measurement without improvement
        reason = early_stop_reason(rows, 2, best_by)
        assert reason and "KID 0.3 at kimg 2" in reason
        assert early_stop_reason(rows + [{"epoch": 5, "kimg": 5, "kid": 0.29}], 2, best_by) is None  # a new best
        assert early_stop_reason(rows, 3, best_by) is None
    # a measurement meeting one target more is a new best by targets even with a higher KID
    more = rows + [{"epoch": 5, "kimg": 5, "kid": 0.35, "coverage": 0.5}, {"epoch": 6, "kimg": 6, "kid": 0.31}]
    assert early_stop_reason(more, 2, "kid") and "KID 0.3 at kimg 2" in early_stop_reason(more, 2, "kid")
    assert early_stop_reason(more, 2, "targets") is None
    assert "1/2 targets, KID 0.35 at kimg 5" in early_stop_reason(more + [{"epoch": 7, "kimg": 7, "kid": 0.2}], 2)


def test_snapshot_score_prefers_more_targets_then_lower_kid():
    from mri_gan.gans.monitor import snapshot_score

    # a pituitary run of 2026-12-01 at 64.8 and 97.2 kimg: KID 0.042 / 0.044, coverage 0.315 / 0.432
    a = {"kid": 0.042, "recall": 0.745, "coverage": 0.315, "ms_ssim_ratio": 1.143, "nearest_ssim": 0.307, "copy_rate": 0.0}
    b = {"kid": 0.044, "recall": 0.788, "coverage": 0.432, "ms_ssim_ratio": 1.057, "nearest_ssim": 0.316, "copy_rate": 0.0}
    assert snapshot_score(a) == (4, -0.042) and snapshot_score(b) == (5, -0.044)
    assert snapshot_score(b) > snapshot_score(a)  # targets: b
    assert snapshot_score(a, "kid") > snapshot_score(b, "kid")  # kid: a
    assert snapshot_score(dict(b, kid=0.043)) > snapshot_score(b)  # same targets: the lower KID
    assert snapshot_score({"coverage": 0.9}) is None  # no KID, no score


@pytest.mark.parametrize("best_by, epoch", [("targets", 3), ("kid", 2)])
def test_best_snapshot_follows_best_by(tmp_path, tiny_prep, monkeypatch, best_by, epoch):
    from mri_gan.gans.fit import run_fit

    ok = {"recall": 0.9, "coverage": 0.5}
    _scripted(monkeypatch, [dict(ok, kid=0.5), dict(ok, kid=0.04, coverage=0.3), dict(ok, kid=0.06), dict(ok, kid=0.07)])
    cfg = _cfg()
    cfg.train.eval_every, cfg.train.kimg, cfg.train.best_by = 0.024, 0.096, best_by  # a measurement every epoch, 4 epochs
    run_fit(tiny_prep, "glioma", tmp_path / "a", cfg, verbose=0)
    rows = read_jsonl(tmp_path / "a" / "metrics.jsonl")
    assert [r["best"] for r in rows] == ([True, True, True, False] if best_by == "targets" else [True, True, False, False])
    history = read_jsonl(tmp_path / "a" / "history.jsonl")
    for i, r in enumerate(rows):  # minutes to each measurement: its epochs and the measurements so far
        epochs = sum(h["seconds"] for h in history if h["epoch"] <= r["epoch"])
        evals = sum(x["eval_seconds"] for x in rows[:i + 1])
        assert r["run_minutes"] == pytest.approx((epochs + evals) / 60, abs=6e-4)
    assert rows[-1]["run_minutes"] > rows[0]["run_minutes"] > 0
    assert read_json(tmp_path / "a" / "checkpoints" / "best" / "best.json")["epoch"] == epoch


def test_best_by_must_be_known(tmp_path, tiny_prep):
    from mri_gan.errors import MriGanError
    from mri_gan.gans.fit import run_fit

    cfg = _cfg()
    cfg.train.best_by = "fid"
    with pytest.raises(MriGanError, match="train.best_by must be one of targets, kid"):
        run_fit(tiny_prep, "glioma", tmp_path / "a", cfg, verbose=0)


@pytest.mark.slow
def test_patience_stops_the_run_and_resume_has_nothing_left(tmp_path, tiny_prep, monkeypatch, capsys):
    from mri_gan.gans.checkpoint import latest_checkpoint
    from mri_gan.gans.fit import run_fit

    _scripted(monkeypatch, [0.5, 0.3, 0.4, 0.35, 0.2, 0.1])
    cfg = _cfg()
    cfg.train.eval_every, cfg.train.patience = 0.024, 2  # a measurement after every epoch, stop after 2 without a new best
    cfg.train.checkpoint_every = 5  # so the checkpoint at epoch 4 is the early stop's own
    r = run_fit(tiny_prep, "glioma", tmp_path / "a", cfg, verbose=0)
    assert r["stopped_early"] and "KID 0.3 at kimg" in r["stopped_early"]
    assert [h["epoch"] for h in read_jsonl(tmp_path / "a" / "history.jsonl")] == [1, 2, 3, 4]  # of 6
    assert latest_checkpoint(tmp_path / "a").endswith(f"-{4 * 3}")  # saved at the stop (3 steps per epoch)
    assert read_json(tmp_path / "a" / "checkpoints" / "best" / "best.json")["epoch"] == 2
    assert "early stop after epoch 4" in capsys.readouterr().err
    again = run_fit(None, None, tmp_path / "a", _cfg(), resume=True, verbose=0)
    assert again["seconds"] == 0.0 and again["stopped_early"]
    assert len(read_jsonl(tmp_path / "a" / "history.jsonl")) == 4

    _scripted(monkeypatch, [0.5, 0.3, 0.4, 0.35, 0.2, 0.1])
    cfg = _cfg()
    cfg.train.eval_every = 0.024  # patience 0: the whole budget
    r = run_fit(tiny_prep, "glioma", tmp_path / "b", cfg, verbose=0)
    assert not r["stopped_early"] and len(read_jsonl(tmp_path / "b" / "history.jsonl")) == 6


def test_resumed_monitor_starts_from_the_saved_snapshot(tmp_path):
    """A run measured under best_by kid (or before train.best_by) and resumed under targets: the bar
    to beat is the snapshot checkpoints/best holds (the last row flagged best), not another row."""
    import json

    from mri_gan.gans.monitor import MonitorPlan, QualityMonitor, snapshot_score

    class _Gan:
        def sample_latent(self, n, seed):
            return np.zeros((n, 4), np.float32)

    rows = [{"epoch": 1, "kimg": 1, "kid": 0.05, "coverage": 0.3, "best": True},
            {"epoch": 2, "kimg": 2, "kid": 0.06, "coverage": 0.5, "best": False},  # more targets, not saved
            {"epoch": 3, "kimg": 3, "kid": 0.04, "coverage": 0.3, "best": True}]
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def best_score(best_by, start_epoch=3):
        plan = MonitorPlan(every_kimg=1, images_per_epoch=1000, n=4, seed=0, best_by=best_by)
        return QualityMonitor(_Gan(), None, plan, tmp_path, start_epoch=start_epoch).best_score

    assert best_score("targets") == snapshot_score(rows[2], "targets") == (1, -0.04)
    assert best_score("kid") == (-0.04,)
    # rewound past the epoch-3 measurement: its row and flag are dropped
    assert best_score("targets", start_epoch=2) == (1, -0.05)
    path.write_text("".join(json.dumps(dict(r, best=False)) + "\n" for r in rows))  # no flags: the best row
    assert best_score("targets", start_epoch=2) == (2, -0.06)
