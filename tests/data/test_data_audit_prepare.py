"""audit + prepare + splits on a small synthetic dataset with planted duplicates and leaks."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from mri_gan.config import Config, DataConfig
from mri_gan.data.audit import run_audit
from mri_gan.data.prepare import run_prepare
from mri_gan.data.split import grouped_split, stratified_test_mask
from mri_gan.utils import read_json


def head(seed: int, size: int = 96) -> np.ndarray:
    """A synthetic 'head': an ellipse holding random sharp-edged blobs ('anatomy'), on a black margin."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size + 40, size + 40), np.uint8)
    c = size // 2 + 20
    cv2.ellipse(img, (c, c), (size // 2 - 4, size // 2 - 10), 0, 0, 360, 90, -1)
    for _ in range(12):
        center = (int(c + rng.integers(-size // 3, size // 3)), int(c + rng.integers(-size // 4, size // 4)))
        axes = (int(rng.integers(4, size // 5)), int(rng.integers(4, size // 5)))
        cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), 0, 360, int(rng.integers(30, 250)), -1)
    mask = np.zeros_like(img)
    cv2.ellipse(mask, (c, c), (size // 2 - 4, size // 2 - 10), 0, 0, 360, 1, -1)
    return img * mask


def jpg(path: Path, img: np.ndarray, quality: int = 95) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
    return path


def near_copy(img: np.ndarray) -> np.ndarray:
    """The same image re-encoded and resized (what 'near duplicate' means)."""
    small = cv2.resize(img, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    return cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])[1], 0)


@pytest.fixture
def planted(tmp_path):
    """Kaggle layout, classes a/b; planted: exact copy in train, exact leak, near copy in train, near leak."""
    root = tmp_path / "raw"
    seed = 0
    imgs = {}
    for split, n in (("Training", 8), ("Testing", 3)):
        for c in ("a", "b"):
            for k in range(n):
                seed += 1
                imgs[f"{split}/{c}/{c}{k}.jpg"] = head(seed)
                jpg(root / split / c / f"{c}{k}.jpg", imgs[f"{split}/{c}/{c}{k}.jpg"])
    (root / "Training/a/a0_copy.jpg").write_bytes((root / "Training/a/a0.jpg").read_bytes())
    (root / "Testing/a/leak.jpg").write_bytes((root / "Training/a/a0.jpg").read_bytes())
    jpg(root / "Training/b/b2_near.jpg", near_copy(imgs["Training/b/b2.jpg"]))
    jpg(root / "Testing/b/leak_near.jpg", near_copy(imgs["Training/b/b1.jpg"]))
    return root


def _cfg(**data):
    cfg = Config()
    cfg.data = DataConfig(**{"workers": 1, "size": 32, **data})
    return cfg


def test_audit_finds_planted_and_nothing_else(planted):
    r = run_audit(planted, _cfg().data)
    assert r["files"] == 26 and r["unreadable"] == [] and r["classes"] == ["a", "b"]
    assert r["per_split"]["train"]["a"]["files"] == 9 and r["per_split"]["test"]["b"]["decoded"] == 4
    assert r["per_split"]["train"]["a"]["modes"] == {"L": 9}
    assert [sorted(g) for g in r["exact_duplicates"]] == [
        ["Testing/a/leak.jpg", "Training/a/a0.jpg", "Training/a/a0_copy.jpg"]]
    near = {frozenset((d["a"], d["b"])) for d in r["near_duplicates"]}
    assert near == {frozenset({"Training/b/b2.jpg", "Training/b/b2_near.jpg"}),
                    frozenset({"Training/b/b1.jpg", "Testing/b/leak_near.jpg"})}
    leaks = {(d["test"], d["train"], d["kind"]) for d in r["leaks"]}
    assert leaks == {("Testing/a/leak.jpg", "Training/a/a0.jpg", "exact"),
                     ("Testing/a/leak.jpg", "Training/a/a0_copy.jpg", "exact"),
                     ("Testing/b/leak_near.jpg", "Training/b/b1.jpg", "near")}
    assert r["summary"]["leaked_test_files"] == 2
    # distinct images are far apart: the closest non-planted pair is well above the threshold
    hist = np.array(r["hamming_histogram"])
    assert hist[: r["near_threshold"] + 1].sum() == 1 + 2 + 2  # 3 exact pairs (d=0) + 2 near pairs


def _tree(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}


def test_prepare_dedup_counts_and_leaks(planted, tmp_path):
    out = tmp_path / "prep"
    info = run_prepare(planted, out, _cfg())
    t = info["totals"]
    assert t["found"] == 26 and t["train"] + t["test"] + t["dropped"] + t["unreadable"] == 26
    reasons = {d["file"]: d["reason"] for d in info["dropped"]}
    assert reasons == {"Testing/a/leak.jpg": "leak-exact", "Testing/b/leak_near.jpg": "leak-near",
                       "Training/a/a0_copy.jpg": "duplicate-exact", "Training/b/b2_near.jpg": "duplicate-near"}
    assert info["classes"] == ["a", "b"] and info["split"] == "dedup" and info["size"] == 32
    assert info["counts"]["out"]["test"] == {"a": 3, "b": 3, "total": 6}
    files = _tree(out)
    assert len(files) == t["train"] + t["test"] == 22
    assert "test/a/leak.png" not in files and "train/a/a0.png" in files
    img = cv2.imread(str(out / "train/a/a0.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == (32, 32) and img.dtype == np.uint8
    saved = read_json(out / "prepare.json")
    assert saved["sources"]["train/a/a0.png"] == "Training/a/a0.jpg"
    assert (out / "config.yaml").is_file() and not (out / ".staging").exists()
    # the test split left has no duplicate of a training image
    r = run_audit(out, _cfg().data)
    assert r["leaks"] == []


def test_prepare_deterministic_and_rerun_fast(planted, tmp_path):
    a = run_prepare(planted, tmp_path / "p1", _cfg())
    b = run_prepare(planted, tmp_path / "p2", _cfg(workers=2))  # the process pool gives the same bytes
    assert _tree(tmp_path / "p1") == _tree(tmp_path / "p2")
    assert a["sources"] == b["sources"]
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "p1").rglob("*") if p.is_file()}
    again = run_prepare(planted, tmp_path / "p1", _cfg())
    # up to date: nothing is redone, not one file of the prepared dir is rewritten
    assert again["up_to_date"] is True
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "p1").rglob("*") if p.is_file()} == before
    # a changed parameter redoes the work
    assert run_prepare(planted, tmp_path / "p1", _cfg(size=16))["up_to_date"] is False
    assert cv2.imread(str(tmp_path / "p1/train/a/a0.png"), 0).shape == (16, 16)


def test_prepare_shipped_and_flags_keep_everything(planted, tmp_path):
    info = run_prepare(planted, tmp_path / "s", _cfg(split="shipped"))
    assert info["totals"]["dropped"] == 0 and info["totals"]["test"] == 8
    info = run_prepare(planted, tmp_path / "k", _cfg(drop_leaks=False))
    assert {d["reason"] for d in info["dropped"]} == {"duplicate-exact", "duplicate-near"}
    assert (tmp_path / "k/test/a/leak.png").is_file()
    info = run_prepare(planted, tmp_path / "n", _cfg(drop_leaks=False, dedup_within=False))
    assert info["totals"]["dropped"] == 0


def test_grouped_split_keeps_groups_together(planted, tmp_path):
    info = run_prepare(planted, tmp_path / "g", _cfg(split="grouped", test_fraction=0.25))
    g = info["groups"]
    assert g["straddling_groups"] == 0 and g["groups"] == 22  # 26 files, 4 planted links
    side = {src: name.split("/")[0] for name, src in info["sources"].items()}
    dropped = {d["file"]: d for d in info["dropped"]}
    # each planted cluster (pooled: train and test copies alike) is kept once, the rest dropped as its copies
    for cluster in [{"Training/a/a0.jpg", "Training/a/a0_copy.jpg", "Testing/a/leak.jpg"},
                    {"Training/b/b2.jpg", "Training/b/b2_near.jpg"}, {"Training/b/b1.jpg", "Testing/b/leak_near.jpg"}]:
        kept = cluster & set(side)
        assert len(kept) == 1
        for f in cluster - kept:
            assert dropped[f]["reason"].startswith("duplicate") and dropped[f]["duplicates"] in kept
    assert info["totals"]["test"] in (5, 6)


def test_group_split_unit():
    groups = np.array([0, 0, 0, 1, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9])
    labels = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    is_test = grouped_split(groups, labels, 0.3, seed=3)
    for g in np.unique(groups):
        assert len(set(is_test[groups == g])) == 1
    assert 1 <= is_test[labels == 0].sum() <= 3 and 1 <= is_test[labels == 1].sum() <= 3
    np.testing.assert_array_equal(is_test, grouped_split(groups, labels, 0.3, seed=3))


def test_plain_layout_stratified(tmp_path):
    root = tmp_path / "plain"
    for c, n in (("x", 10), ("y", 20)):
        for k in range(n):
            jpg(root / c / f"{k}.jpg", head(100 * (c == "y") + k))
    info = run_prepare(root, tmp_path / "out", _cfg())
    assert info["layout"] == "plain"
    assert info["counts"]["out"]["test"] == {"x": 2, "y": 4, "total": 6}
    assert info["counts"]["out"]["train"]["total"] == 24
    is_test = stratified_test_mask(np.array([0] * 10 + [1] * 20), 0.2, seed=0)
    assert is_test.sum() == 6


def test_process_pool_matches_one_process(tmp_path):
    from mri_gan.data.analyze import Params, analyze_files

    paths = [str(jpg(tmp_path / f"{k}.jpg", head(k, 48))) for k in range(70)]  # >= 64: the pool is used
    params = Params.from_cfg(DataConfig(), size=16)
    assert analyze_files(paths, params, workers=2) == analyze_files(paths, params, workers=1)


SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample"


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="assets/sample not present")
def test_bundled_sample_audit():
    r = run_audit(SAMPLE, _cfg().data)
    assert r["files"] == 200 and r["unreadable"] == [] and r["classes"] == ["glioma", "meningioma", "notumor",
                                                                           "pituitary"]
    assert r["format_extension_mismatch"] == ["Training/notumor/Tr-no_1019.jpg"]
    leaks = {(d["test"], d["train"], d["kind"]) for d in r["leaks"]}
    assert ("Testing/meningioma/Te-me_0135.jpg", "Training/meningioma/Tr-me_0071.jpg", "exact") in leaks
    assert ("Testing/meningioma/Te-me_0018.jpg", "Training/meningioma/Tr-me_0596.jpg", "near") in leaks
