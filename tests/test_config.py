import pytest
import yaml

from gankit import ConfigError, list_presets, load_config
from gankit.config import DEFAULT_PRESET, RunConfig, parse_override


@pytest.mark.parametrize("name", [n for n, _ in list_presets()])
def test_every_preset_validates_and_describes_itself(name):
    config = load_config(name)
    assert config.description
    assert isinstance(config, RunConfig)


def test_default_preset_is_mnist_dcgan_on_bundled_digits():
    config = load_config()
    assert DEFAULT_PRESET == "mnist-dcgan"
    assert (config.data.name, config.model.name) == ("mnist5k", "dcgan")


def test_overrides_are_typed():
    config = load_config(overrides=["train.epochs=3", "train.lr_d=1e-4", "model.z_dim=64", "train.betas=[0.0, 0.9]"])
    assert config.train.epochs == 3 and config.train.lr_d == 1e-4 and config.model.z_dim == 64
    assert config.train.betas == (0.0, 0.9)


def test_model_kwargs_checked_against_the_factory():
    config = load_config(overrides=["model.g_width=16"])
    assert config.model.kwargs["g_width"] == 16
    with pytest.raises(ConfigError, match=r"unknown key model.g_wdth .*valid: .*g_width"):
        load_config(overrides=["model.g_wdth=16"])
    with pytest.raises(ConfigError, match="model.g_width must be int"):
        load_config(overrides=["model.g_width=wide"])


def test_switching_model_drops_the_old_models_options():
    config = load_config(overrides=["model.name=vanilla"])
    assert config.model.name == "vanilla" and config.model.kwargs == {}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.epochs=0", "train.epochs must be > 0"),
        ("train.batch_size=-4", "train.batch_size must be > 0"),
        ("train.epochs=2.5", "train.epochs must be int"),
        ("train.loss=hinj", "unknown loss 'hinj'"),
        ("data.name=mnsit", "did you mean 'mnist'"),
        ("train.precision=fp8", "one of 'auto', 'fp32', 'bf16'"),
        ("train.label_smoothing=0.7", r"\[0, 0.5\)"),
        ("train.device=tpu", "train.device must be"),
        ("train.epoch=3", "unknown key train.epoch"),
        ("data.channels=2", "data.channels must be"),
        ("model.z_dim=0", "model.z_dim must be > 0"),
        ("bogus.x=1", "unknown section 'bogus'"),
        ("epochs=3", "SECTION.KEY=VALUE"),
    ],
)
def test_bad_values_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=[override])


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError, match="did you mean 'mnist-dcgan'"):
        load_config("mnist-dcgn")


def test_dump_round_trips_through_a_config_file(tmp_path):
    config = load_config(overrides=["train.epochs=7", "model.d_dropout=0.25", "data.max_items=100"])
    path = tmp_path / "config.yaml"
    path.write_text(config.dump())
    again = load_config(config_file=path)
    assert again == config
    assert yaml.safe_load(path.read_text())["model"]["d_dropout"] == 0.25  # flat, as users write it


def test_preset_and_config_are_exclusive(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        load_config("mnist-dcgan", tmp_path / "c.yaml")


def test_bad_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(config_file=path)


def test_parse_override_reads_yaml_values():
    assert parse_override("data.root=null") == {"data": {"root": None}}
    assert parse_override("data.root=/a/b") == {"data": {"root": "/a/b"}}
