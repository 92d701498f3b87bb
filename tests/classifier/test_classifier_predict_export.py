"""predict on good and bad files; SavedModel export reload-equal."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mri_gan.config import Config


@pytest.fixture
def trained_run(tiny_prep, tmp_path):
    from mri_gan.classifier.train import run_classify

    cfg = Config()
    cfg.classifier.epochs, cfg.classifier.seeds = [1], 1
    out = tmp_path / "run"
    run_classify(tiny_prep, out, cfg, export_dir=tmp_path / "saved", verbose=0)
    return out, tmp_path / "saved", tiny_prep


def test_predict_good_and_bad_files(trained_run, tmp_path):
    from cli.main import cli
    from mri_gan.classifier.predict import load_classifier, predict_files
    from mri_gan.config import DataConfig
    from mri_gan.data.pipeline import from_uint8
    from mri_gan.data.preprocess import preprocess_file

    run, _, prep = trained_run
    good = sorted((prep / "test" / "glioma").glob("*.png"))[:2]
    big = tmp_path / "big.jpg"  # a larger JPEG: cropped and resized like prepare does
    cv2.imwrite(str(big), cv2.resize(cv2.imread(str(good[0]), cv2.IMREAD_GRAYSCALE), (100, 100)))
    truncated = tmp_path / "trunc.png"
    truncated.write_bytes(good[0].read_bytes()[:60])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image\n")
    missing = tmp_path / "missing.png"
    files = [str(good[0]), str(truncated), str(big), str(text), str(missing), str(good[1])]

    preds, errors = predict_files(run / "best.keras", files)
    assert [p["file"] for p in preds] == [str(good[0]), str(big), str(good[1])]
    assert [e["file"] for e in errors] == [str(truncated), str(text), str(missing)]
    assert all("\n" not in e["error"] and e["error"] for e in errors)
    model, info = load_classifier(run)
    x = from_uint8(preprocess_file(big, 32, DataConfig(size=32)))[None, ..., None]
    expect = np.asarray(model.predict(x, verbose=0))[0]
    np.testing.assert_allclose(list(preds[1]["probabilities"].values()), expect, rtol=1e-5, atol=1e-6)
    assert sum(preds[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert preds[0]["class"] in info["classes"]

    r = CliRunner().invoke(cli, ["predict", str(run), *files])
    assert r.exit_code == 1
    out_lines = [ln for ln in r.stdout.splitlines() if ln]
    assert len(out_lines) == 3 and out_lines[0].startswith(str(good[0]) + ": ")
    err_lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(err_lines) == 3 and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["predict", str(run / "best.keras"), str(good[0]), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["errors"] == []
    r = CliRunner().invoke(cli, ["predict", str(tmp_path / "nope.keras"), str(good[0])])
    assert r.exit_code == 1 and "model not found" in r.output

    # --explain: one Grad-CAM picture per readable file (a JPEG among them), named after it
    cams = tmp_path / "cams"
    r = CliRunner().invoke(cli, ["predict", str(run), str(big), str(text), str(good[0]), "--explain", str(cams), "--json"])
    assert r.exit_code == 1  # notes.jpg is still an error; the others are explained
    got = json.loads(r.stdout)["predictions"]
    assert [p["explanation"] for p in got] == [str(cams / "big_gradcam.png"), str(cams / f"{good[0].stem}_gradcam.png")]
    pic = cv2.imread(got[0]["explanation"])
    assert pic.shape[0] >= 256 and pic.shape[1] > 2 * pic.shape[0]  # slice | overlay, upscaled
    assert sorted(p.name for p in cams.iterdir()) == sorted(["big_gradcam.png", f"{good[0].stem}_gradcam.png"])


def test_savedmodel_export_reload_equal(trained_run):
    import keras
    import tensorflow as tf

    run, saved, prep = trained_run
    model = keras.saving.load_model(run / "best.keras", safe_mode=True)
    imgs = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted((prep / "test" / "notumor").glob("*.png"))[:5]])
    x_u8 = imgs[..., None]
    x_f = (x_u8.astype("float32") / 127.5 - 1.0)
    expect = np.asarray(model(x_f, training=False))
    loaded = tf.saved_model.load(str(saved))
    got_u8 = loaded.signatures["serving_default"](image=tf.constant(x_u8))
    got_f = loaded.signatures["serve_float"](image=tf.constant(x_f))
    np.testing.assert_allclose(list(got_u8.values())[0].numpy(), expect, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(list(got_f.values())[0].numpy(), expect, rtol=1e-5, atol=1e-6)
    info = json.loads((saved / "model.json").read_text())
    assert info["size"] == 32 and len(info["classes"]) == 4
