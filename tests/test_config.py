"""The one config object: precedence, validation with clear errors, partial reads of saved configs."""

import pytest

from mri_gan.config import Config, load_config, load_saved
from mri_gan.errors import MriGanError


def test_defaults_then_file_then_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  epochs: 7\n  batch_size: 8\n")
    cfg = load_config(f, ["train.epochs=9", "classifier.epochs=[5,10]"])
    assert cfg.train.epochs == 9  # the override wins over the file
    assert cfg.train.batch_size == 8  # the file wins over the default
    assert cfg.classifier.epochs == [5, 10]
    assert cfg.gan.latent_dim == Config().gan.latent_dim  # untouched keys keep the default


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(None, ["gan.kind=wgan_gp", "data.size=32"])
    cfg.save(tmp_path / "config.yaml")
    back = load_saved(tmp_path / "config.yaml")
    assert back == cfg


def test_unknown_key_in_a_file_names_the_file_and_the_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("gan:\n  mode_seeking: 0.0\n")
    with pytest.raises(MriGanError, match=r"c\.yaml: unknown config key gan\.mode_seeking"):
        load_config(f)


def test_reading_some_sections_ignores_stale_keys_elsewhere(tmp_path):
    # a prepared dir written by another version: classify needs only its `data` section
    f = tmp_path / "config.yaml"
    f.write_text("data:\n  size: 32\n  crop_threshold: 12\ngan:\n  mode_seeking: 0.0\n")
    cfg = load_saved(f, sections=("data",))
    assert (cfg.data.size, cfg.data.crop_threshold) == (32, 12)
    with pytest.raises(MriGanError, match="data: expected an integer|data.size"):
        f.write_text("data:\n  size: big\n")
        load_saved(f, sections=("data",))


@pytest.mark.parametrize("override, message", [
    ("train.epochs", "expected section.key=value"),
    ("nosuch.key=1", "unknown config section"),
    ("train.epochs=many", "expected an integer"),
])
def test_bad_overrides_are_one_line_errors(override, message):
    with pytest.raises(MriGanError, match=message) as e:
        load_config(None, [override])
    assert "\n" not in str(e.value)
