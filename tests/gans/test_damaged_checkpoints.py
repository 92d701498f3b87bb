"""A damaged checkpoint (truncated, zero bytes, a missing part, garbage bytes; in the data file or
the index) is found when it is read: `fit --resume`, synthesize and export use the newest intact
one with one line naming both (the resumed run still ends bit-equal to a straight one), and fail
with one line when none is intact; the best snapshot likewise (mri_gan/gans/checkpoint.py)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from mri_gan.errors import MriGanError

EPOCHS = 3  # 3 steps an epoch: checkpoints ckpt-3, ckpt-6, ckpt-9


def tiny_cfg():
    from mri_gan.config import Config

    cfg = Config()
    g = cfg.gan
    g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 16, 8, 8, 16, 8
    t = cfg.train
    t.batch_size, t.sample_every, t.sample_grid, t.eval_every, t.jit_compile = 8, 0, 2, 0, False
    t.checkpoint_every, t.keep_checkpoints, t.ema = 1, 3, 0.9
    return cfg


def _state(gan):
    ws = [np.array(w) for m in (gan.generator, gan.discriminator, gan.ema_generator) for w in m.weights]
    return ws + [np.array(gan.g_optimizer.iterations), np.array(gan.d_optimizer.iterations)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A straight 3-epoch run (its final state, for comparison) with a best snapshot beside it."""
    from conftest import make_prep
    from mri_gan.gans.checkpoint import save_generators
    from mri_gan.gans.fit import run_fit

    root = tmp_path_factory.mktemp("damaged")
    prep = make_prep(root / "prep", size=16, n_train=24, n_test=2, classes=["glioma", "notumor"])
    res = run_fit(prep, "glioma", root / "run", tiny_cfg(), epochs=EPOCHS, verbose=0)
    save_generators(res["gan"], root / "run" / "checkpoints" / "best")
    return root / "run", _state(res["gan"])


@pytest.fixture
def run(trained, tmp_path):
    src, _ = trained
    dst = tmp_path / "run"
    shutil.copytree(src, dst)
    return dst


def _truncate(f):
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _garble(f):
    b = bytearray(f.read_bytes())
    b[8:72] = bytes(range(64))  # same size, other bytes
    f.write_bytes(bytes(b))


DAMAGE = {
    "truncated data": ("data", _truncate),
    "zero-byte data": ("data", lambda f: f.write_bytes(b"")),
    "missing data": ("data", os.remove),
    "garbage data": ("data", _garble),
    "truncated index": ("index", _truncate),
    "zero-byte index": ("index", lambda f: f.write_bytes(b"")),
    "missing index": ("index", os.remove),
    "garbage index": ("index", _garble),
}


def damage(prefix, form: str) -> None:
    part, fn = DAMAGE[form]
    f = next(prefix.parent.glob(f"{prefix.name}.data-*")) if part == "data" else prefix.parent / f"{prefix.name}.index"
    fn(f)


def _notes(text: str) -> list[str]:
    return [line for line in text.splitlines() if "is damaged" in line]


@pytest.mark.parametrize("form", list(DAMAGE))
def test_damaged_newest_gives_way_to_the_newest_intact(run, trained, form, capsys, tmp_path):
    """synthesize's and export's loader and `fit --resume` use ckpt-6 when ckpt-9 is damaged, with
    one line naming both; the resumed run ends bit-equal to the straight one."""
    from mri_gan.gans.intact import checkpoint_damage, resolve_checkpoint
    from mri_gan.gans.export import export_run
    from mri_gan.gans.fit import run_fit

    ck = run / "checkpoints"
    damage(ck / "ckpt-9", form)
    assert checkpoint_damage(ck / "ckpt-9") and checkpoint_damage(ck / "ckpt-6") is None
    assert resolve_checkpoint(run, "last") == str(ck / "ckpt-6")
    (line,) = _notes(capsys.readouterr().err)
    assert f"{ck / 'ckpt-9'} is damaged" in line and f"using {ck / 'ckpt-6'}" in line
    exported = export_run(run, tmp_path / "export", "last", saved_model=False)
    assert exported["checkpoint"] == str(ck / "ckpt-6") and len(_notes(capsys.readouterr().err)) == 1

    res = run_fit(None, None, run, tiny_cfg(), resume=True, epochs=EPOCHS, verbose=0)
    (line,) = _notes(capsys.readouterr().err)
    assert f"{ck / 'ckpt-9'} is damaged" in line and f"using {ck / 'ckpt-6'}" in line and "damaged" in line
    assert res["start_epoch"] == 2 and res["checkpoint"] == str(ck / "ckpt-9")
    for a, b in zip(trained[1], _state(res["gan"])):
        np.testing.assert_array_equal(a, b)
    assert checkpoint_damage(ck / "ckpt-9") is None  # written anew; the damaged files sit in damaged/
    assert list((ck / "damaged").glob("ckpt-9.*"))


def test_cli_one_line_and_none_intact(run):
    """The CLI: a note and success while one checkpoint is intact; one error line, no traceback,
    for synthesize, export and fit --resume when none is."""
    ck = run / "checkpoints"
    shutil.rmtree(ck / "best")
    damage(ck / "ckpt-9", "truncated data")
    r = CliRunner().invoke(cli, ["synthesize", str(run), "--out", str(run.parent / "s"), "--n", "2"])
    assert r.exit_code == 0 and len(_notes(r.output)) == 1 and "ckpt-6" in r.output, r.output
    damage(ck / "ckpt-6", "garbage data")
    damage(ck / "ckpt-3", "missing index")
    for args in (["synthesize", str(run), "--out", str(run.parent / "s2"), "--n", "2"],
                 ["export", str(run), "--out", str(run.parent / "e"), "--no-saved-model"],
                 ["fit", "--resume", str(run)]):
        r = CliRunner().invoke(cli, args)
        errors = [line for line in r.output.splitlines() if line.startswith("Error")]
        assert r.exit_code == 1 and "Traceback" not in r.output, r.output
        assert len(errors) == 1 and "no intact checkpoint" in errors[0] and "ckpt-9 is damaged" in errors[0], r.output
    assert not (run / ".lock").exists()


def test_damaged_best_snapshot(run, capsys):
    """auto: a damaged best snapshot gives way to the run's newest checkpoint (one line); `best`
    asked for by name is one error line."""
    from mri_gan.gans.intact import resolve_checkpoint

    best = run / "checkpoints" / "best"
    (prefix,) = [p.with_suffix("") for p in best.glob("ckpt-*.index")]
    assert resolve_checkpoint(run) == str(prefix)
    damage(prefix, "garbage data")
    assert resolve_checkpoint(run) == str(run / "checkpoints" / "ckpt-9")
    (line,) = _notes(capsys.readouterr().err)
    assert f"{prefix} is damaged" in line
    with pytest.raises(MriGanError, match="no intact best snapshot .* is damaged"):
        resolve_checkpoint(run, "best")
    with pytest.raises(MriGanError, match="ckpt-9 is damaged"):
        damage(run / "checkpoints" / "ckpt-9", "zero-byte data")
        resolve_checkpoint(run, str(run / "checkpoints" / "ckpt-9"))


@pytest.mark.parametrize("form", ["truncated", "zero bytes", "missing", "garbage", "index"])
def test_npz_checkpoints(tmp_path, form, capsys):
    """The .npz format (JAX): each damage form is found and resume takes the newest intact one."""
    import keras

    from mri_gan.gans.checkpoint import INDEX, NpzCheckpoint, NpzManager
    from mri_gan.gans.intact import resume_checkpoint

    v = keras.Variable(np.zeros(300, "float32"))
    manager = NpzManager(NpzCheckpoint(v=v), tmp_path, max_to_keep=3)
    for step in (1, 2, 3):
        v.assign(np.full(300, step, "float32"))
        manager.save(checkpoint_number=step)
    f = tmp_path / "ckpt-3.npz"
    {"truncated": _truncate, "zero bytes": lambda f: f.write_bytes(b""), "missing": os.remove,
     "garbage": _garble_npz,
     "index": lambda f: (tmp_path / INDEX).write_text("{not json")}[form](f)
    expected = "ckpt-3" if form == "index" else "ckpt-2"
    assert resume_checkpoint(tmp_path) == str(tmp_path / expected)
    NpzCheckpoint(v=v).restore(tmp_path / expected)
    assert float(np.asarray(v)[0]) == float(expected[-1])
    assert len(_notes(capsys.readouterr().err)) == (0 if form == "index" else 1)
    assert NpzManager(NpzCheckpoint(v=v), tmp_path).latest_checkpoint == str(tmp_path / expected)


def _garble_npz(f):
    """Overwrite bytes inside the stored array (same size): the zip member's CRC-32 no longer matches."""
    b = bytearray(f.read_bytes())
    i = b.find(bytes(np.full(8, 3, "float32")))
    b[i:i + 16] = bytes(range(16))
    f.write_bytes(bytes(b))
