"""The config as it is loaded and as a run saves it: retired keys are unknown, keys the chosen
GAN kind ignores draw one warning line, string choices and number ranges are checked at load with
the key named, a run's config.yaml is the effective config, and configs/table1.yaml is Table I."""

from __future__ import annotations

from pathlib import Path

import pytest

from mri_gan.config import Config, load_config, load_saved
from mri_gan.config_values import RETIRED
from mri_gan.errors import MriGanError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("key", sorted(RETIRED))
def test_a_retired_key_is_an_unknown_config_key(key, tmp_path):
    value = {"gan.g_upsample": "nearest", "gan.sn_mode": "reparam", "gan.r1_bn_moments": "frozen",
             "train.lr_decay": "linear"}.get(key, 1)
    with pytest.raises(MriGanError, match=rf"unknown config key {key}: a retired option .*Retired options") as e:
        load_config(None, [f"{key}={value}"])
    assert "\n" not in str(e.value)
    section, name = key.split(".")
    f = tmp_path / "c.yaml"
    f.write_text(f"{section}:\n  {name}: {value}\n")
    with pytest.raises(MriGanError, match=rf"c\.yaml: unknown config key {key}"):
        load_config(f)


def test_a_run_saved_before_the_retirement_still_loads_unless_it_used_a_retired_value(tmp_path):
    """A config.yaml written while the options existed holds them at the value this version
    behaves as: it loads (synthesize, resume). One that used another value cannot be rebuilt."""
    f = tmp_path / "config.yaml"
    old = Config().to_dict()
    old["gan"].update(g_upsample="transpose", g_extra_convs=0, d_dense=0, sn_mode="projection", r1_bn_moments="live")
    old["train"].update(lr_decay="none", lr_decay_start=0.5)
    old["synth"]["truncation"] = 0.0
    import yaml

    f.write_text(yaml.safe_dump(old))
    assert load_saved(f) == Config()
    old["gan"]["g_upsample"] = "nearest"
    f.write_text(yaml.safe_dump(old))
    with pytest.raises(MriGanError, match="gan.g_upsample: 'nearest' is a retired option"):
        load_saved(f)


@pytest.mark.parametrize("overrides, key, kind", [
    (["gan.pack=2"], "gan.pack", "dcgan"),  # the default kind's D scores single images
    (["gan.kind=infogan", "gan.pack=4"], "gan.pack", "infogan"),
    (["gan.gp_weight=5"], "gan.gp_weight", "dcgan"),  # outside wgan_gp
    (["gan.kind=proposed", "gan.info_categorical=4"], "gan.info_categorical", "proposed"),  # outside infogan
    (["gan.kind=lsgan", "gan.info_weight=2"], "gan.info_weight", "lsgan"),
    (["gan.kind=wgan_gp", "gan.r1_gamma=1"], "gan.r1_gamma", "wgan_gp"),
    (["gan.kind=wgan_gp", "gan.spectral_norm=true"], "gan.spectral_norm", "wgan_gp"),
    (["gan.kind=proposed", "gan.minibatch_std=4"], "gan.minibatch_std", "proposed"),  # R1 is on
    (["gan.kind=infogan", "gan.conditional=true"], "gan.conditional", "infogan"),  # no conditional form: fit refuses it
])
def test_a_key_the_kind_ignores_warns_once_naming_the_key_and_the_kind(overrides, key, kind, capsys, tmp_path):
    load_config(None, overrides)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"warning: {key} ") and f"ignored under gan.kind {kind}" in lines[0]
    f = tmp_path / "c.yaml"  # the same from a file
    f.write_text("gan:\n" + "".join(f"  {o.split('.', 1)[1].replace('=', ': ')}\n" for o in overrides))
    load_config(f)
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_keys_the_kind_uses_and_untouched_defaults_stay_quiet(capsys):
    load_config(None, ["gan.kind=proposed", "gan.pack=2", "gan.spectral_norm=true"])
    load_config(None, ["gan.kind=wgan_gp", "gan.gp_weight=5", "gan.n_critic=3"])
    load_config(None, ["gan.kind=infogan", "gan.info_categorical=4", "gan.info_weight=2"])
    load_config(None, ["gan.pack=1", "gan.spectral_norm=false"])  # dcgan, each key at the value that runs
    for name in ("quick", "cpu", "paper", "table1", "few-labels", "classifier-strong"):
        load_config(ROOT / "configs" / f"{name}.yaml")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("override, message", [
    ("gan.kind=stylegan", r"gan\.kind must be one of dcgan \| proposed .*got 'stylegan'"),
    ("gan.loss=softplus", r"gan\.loss must be one of .*hinge, got 'softplus'"),
    ("train.precision=fp8", r"train\.precision must be one of .*got 'fp8'"),
    ("train.strategy=tpu", r"train\.strategy must be one of .*got 'tpu'"),
    ("train.jit_compile=maybe", r"train\.jit_compile must be one of auto \| true \| false, got 'maybe'"),
    ("train.best_by=fid", r"train\.best_by must be one of targets \| kid, got 'fid'"),
    ("train.diffaugment_per=batch", r"train\.diffaugment_per must be one of image \| group"),
    ("train.diffaugment=translation,flip", r"train\.diffaugment: unknown op 'flip'"),
    ("classifier.head=max", r"classifier\.head must be one of flatten \| gap, got 'max'"),
    ("classifier.optimizer=sgd", r"classifier\.optimizer must be one of adam \| adamw"),
    ("data.split=random", r"data\.split must be one of shipped \| dedup \| grouped"),
    ("study.real_splits=[dedup,random]", r"study\.real_splits must be one of .*got 'random'"),
    ("compare.kinds=[dcgan,stylegan]", r"compare\.kinds must be one of .*got 'stylegan'"),
    ("train.batch_size=0", r"train\.batch_size must be >= 1, got 0"),
    ("train.ema=1", r"train\.ema must be in \[0, 1\), got 1\.0"),
    ("train.g_lr=0", r"train\.g_lr must be > 0"),
    ("gan.pack=0", r"gan\.pack must be >= 1, got 0"),
    ("data.test_fraction=1.5", r"data\.test_fraction must be in \(0, 1\)"),
])
def test_a_bad_value_is_a_one_line_error_naming_the_key(override, message):
    with pytest.raises(MriGanError, match=message) as e:
        load_config(None, [override])
    assert "\n" not in str(e.value)


def test_the_choices_are_the_lists_the_modules_act_on():
    from mri_gan.config_values import CHOICES, DIFFAUGMENT_OPS, PRECISIONS, SPLITS
    from mri_gan.data.prepare import SPLITS as PREPARE_SPLITS
    from mri_gan.gans import augment
    from mri_gan.gans.factory import KINDS, LOSS_NAMES
    from mri_gan.gans.losses import LOSSES
    from mri_gan.gans.monitor import BEST_BY
    from mri_gan.gans.strategy import STRATEGIES
    from mri_gan.models.classifier import HEADS, PADDINGS
    from mri_gan.precision import CHOICES as PRECISION_CHOICES
    from mri_gan.precision import JIT_CHOICES

    assert set(CHOICES["gan.kind"]) == set(KINDS) == set(CHOICES["compare.kinds"])
    assert set(CHOICES["gan.loss"]) == {""} | set(LOSSES) == {""} | set(LOSS_NAMES)
    assert set(PRECISIONS) == set(PRECISION_CHOICES) and CHOICES["train.jit_compile"] == JIT_CHOICES
    assert CHOICES["classifier.jit_compile"] == JIT_CHOICES
    assert CHOICES["train.strategy"] == STRATEGIES and CHOICES["train.best_by"] == BEST_BY
    assert CHOICES["classifier.head"] == HEADS == CHOICES["eval.feature_head"]
    assert CHOICES["classifier.padding"] == PADDINGS and SPLITS == PREPARE_SPLITS
    assert augment.parse_policy(",".join(DIFFAUGMENT_OPS)) == list(DIFFAUGMENT_OPS)


def test_the_effective_config_holds_what_training_uses():
    from mri_gan.gans.factory import effective_config

    cfg = Config()  # dcgan: single-image BatchNorm D, R1 on
    cfg.gan.pack, cfg.gan.minibatch_std, cfg.gan.spectral_norm = 2, 4, True
    eff = effective_config(cfg)
    g = eff.gan
    assert (g.kind, g.loss, g.n_critic, g.pack, g.minibatch_std, g.spectral_norm) == ("dcgan", "bce", 1, 1, 0, False)
    assert (g.gp_weight, g.info_categorical, g.info_continuous, g.info_weight, g.r1_gamma) == (0, 0, 0, 0, 0.1)
    assert cfg.gan.pack == 2  # a copy: the given config is unchanged
    assert effective_config(eff) == eff  # idempotent
    w = effective_config(load_config(None, ["gan.kind=wgan_gp"])).gan
    assert (w.loss, w.n_critic, w.r1_gamma, w.gp_weight, w.pack, w.spectral_norm) == ("wgan_gp", 5, 0, 10, 2, False)


def test_a_runs_saved_config_is_the_effective_one(tmp_path, tiny_prep, capsys):
    """A tiny dcgan run given gan.pack 2 saves pack 1 (its D scores single images), and the same
    command continues the run (the given config is compared by its effective form)."""
    from mri_gan.gans.factory import effective_config
    from mri_gan.gans.fit import run_fit

    def cfg():
        c = load_config(None, ["gan.g_width=16", "gan.g_min_width=8", "gan.d_width=8", "gan.d_max_width=16",
                               "gan.latent_dim=8", "train.batch_size=8", "train.eval_every=0", "train.jit_compile=false",
                               "gan.pack=2"])
        assert c.gan.kind == "dcgan" and c.gan.pack == 2
        return c

    run = tmp_path / "run"
    r = run_fit(tiny_prep, "glioma", run, cfg(), epochs=1, verbose=0)
    assert r["gan"].settings.pack == 1
    saved = load_saved(run / "config.yaml")
    assert saved.gan.pack == 1 and saved.gan.loss == "bce" and saved.gan.n_critic == 1
    expected = effective_config(cfg())
    expected.data.size, expected.train.epochs, expected.train.kimg = 32, 1, 0.0  # from the prepared dir and epochs=1
    expected.train.precision = saved.train.precision  # "auto" resolved on this machine
    assert saved == expected
    r = run_fit(tiny_prep, "glioma", run, cfg(), epochs=2, verbose=0)  # continues: no "different config"
    assert r["start_epoch"] == 1 and load_saved(run / "config.yaml").gan == saved.gan
    capsys.readouterr()


def test_table1_yaml_is_the_papers_setting():
    from mri_gan.gans.factory import effective_config

    cfg = load_config(ROOT / "configs" / "table1.yaml")
    g, t = cfg.gan, cfg.train
    assert (g.kind, g.loss, g.spectral_norm, g.pack, g.r1_gamma, g.minibatch_std, g.n_critic) == \
        ("proposed", "bce", True, 1, 0.0, 0, 1)
    assert (t.batch_size, t.g_lr, t.d_lr, t.beta_1, t.ema, t.diffaugment, t.ada, t.reuse_fakes) == \
        (64, 2e-4, 2e-4, 0.5, 0.0, "", False, False)
    eff = effective_config(cfg).gan
    assert all(getattr(eff, k) == getattr(g, k) for k in ("kind", "loss", "spectral_norm", "pack", "r1_gamma",
                                                          "minibatch_std", "n_critic"))  # all used as written
    every_key = [line.split(":")[0].strip() for line in (ROOT / "configs" / "table1.yaml").read_text().splitlines()
                 if line.startswith("  ")]
    assert all("  # " in line for line in (ROOT / "configs" / "table1.yaml").read_text().splitlines()
               if line.startswith("  ")) and len(every_key) == 15  # one comment per key
    assert load_config(ROOT / "configs" / "paper.yaml").gan.kind == "dcgan"
    assert "kind:" in (ROOT / "configs" / "paper.yaml").read_text()
