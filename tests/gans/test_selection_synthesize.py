"""`synthesize` with a selection rule on a tiny trained run: what is kept is what the rule says."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mri_gan.errors import MriGanError
from mri_gan.utils import read_json
from tests.gans.test_fit_run import tiny_cfg


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from mri_gan.gans.fit import run_fit
    from tests.conftest import make_prep

    root = tmp_path_factory.mktemp("sel")
    prep = make_prep(root / "prep")
    cfg = tiny_cfg()
    cfg.eval.feature_epochs = 1
    run_fit(prep, "glioma", root / "run", cfg, epochs=2, verbose=0)
    return root / "run"


def _manifest(out):
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_discriminator_selection_keeps_the_top_scores(tmp_path, tiny_run):
    from mri_gan.data.pipeline import to_uint8
    from mri_gan.gans.selection import discriminator_scorer
    from mri_gan.gans.synthesis import Selection, load_generator, synthesize

    r = synthesize(tiny_run, tmp_path / "d", 5, seed=2, selection=Selection("discriminator", 3))
    rows = _manifest(tmp_path / "d")
    assert r["files"] == 5 and len(rows) == 5
    rec = read_json(tmp_path / "d" / "selection.json")
    assert rec["rule"] == "discriminator" and rec["classes"]["glioma"]["drawn"] == 15
    assert rec["classes"]["glioma"]["kept"] == 5
    # recompute: the 15 candidates of seed 2, scored by the same D; the kept indices are its top 5 (of the non-copies)
    gen = load_generator(tiny_run)
    cand = to_uint8(gen.generate(gen.latent(15, [2, 0]))[..., 0])
    score, _ = discriminator_scorer(tiny_run)
    s = score(cand)
    kept = sorted(int(row["index"]) for row in rows)
    dropped = rec["classes"]["glioma"].get("copies_dropped", 0)
    if dropped == 0:
        assert kept == sorted(np.argsort(-s, kind="stable")[:5].tolist())
    # same seed and rule: byte-identical files
    synthesize(tiny_run, tmp_path / "d2", 5, seed=2, selection=Selection("discriminator", 3))
    for row in rows:
        assert (tmp_path / "d" / row["file"]).read_bytes() == (tmp_path / "d2" / row["file"]).read_bytes()


def test_confidence_selection_keeps_only_confident_fakes(tmp_path, tiny_run):
    from mri_gan.config import load_saved
    from mri_gan.data.pipeline import load_uint8
    from mri_gan.gans.selection import feature_classifier
    from mri_gan.gans.synthesis import Selection, synthesize

    synthesize(tiny_run, tmp_path / "c", 6, seed=1, selection=Selection("confidence", 4, 0.3))
    rec = read_json(tmp_path / "c" / "selection.json")["classes"]["glioma"]
    rows = _manifest(tmp_path / "c")
    assert rec["drawn"] == 24 and rec["kept"] == len(rows) <= 6
    cfg = load_saved(tiny_run / "config.yaml")
    _, probs, names = feature_classifier(read_json(tiny_run / "run.json")["data"], cfg.eval, cfg.classifier)
    if rows:
        p = probs(load_uint8([str(tmp_path / "c" / row["file"]) for row in rows]))[:, names.index("glioma")]
        assert (p >= 0.3 - 1e-6).all()


def test_selection_needs_a_run_dir_and_valid_settings(tmp_path, tiny_run):
    from mri_gan.gans.synthesis import Selection, synthesize

    with pytest.raises(MriGanError, match="oversample >= 2"):
        synthesize(tiny_run, tmp_path / "x", 2, selection=Selection("realism", 1))
    with pytest.raises(MriGanError, match="synth.select must be one of"):
        synthesize(tiny_run, tmp_path / "y", 2, selection=Selection("sharpest", 4))
