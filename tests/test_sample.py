import numpy as np
import pytest
import torch

from gankit import ConfigError, RunError, load_config, load_run, sample, train
from gankit.runs.checkpoint import load_checkpoint, module_state

TOY = ["data.name=toy2d", "data.n=256", "model.name=vanilla", "model.g_hidden=[16]", "model.d_hidden=[16]"]


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    config = load_config(overrides=[*TOY, "train.epochs=2", "optim.ema_decay=0.9"])
    return train(config, out=tmp_path_factory.mktemp("runs"), quiet=True)


def test_sampling_uses_the_weight_average(ema_run):
    run = load_run(ema_run)
    _, tensors = load_checkpoint(ema_run / "checkpoints" / "final.json")
    ema, live = module_state(tensors, "G_ema"), module_state(tensors, "G")
    assert not torch.equal(ema["net.0.weight"], live["net.0.weight"])
    assert torch.equal(run.generator.state_dict()["net.0.weight"], ema["net.0.weight"])


def test_points_are_written_as_npy_only(ema_run, tmp_path):
    path = sample(ema_run, 10, tmp_path / "p.npy")
    assert np.load(path).shape == (10, 2)
    with pytest.raises(ConfigError, match="points, not images"):
        sample(ema_run, 10, tmp_path / "p.png")


def test_bad_outputs_and_runs(ema_run, tmp_path):
    with pytest.raises(ConfigError, match=".png"):
        sample(ema_run, 4, tmp_path / "x.jpg")
    with pytest.raises(ConfigError, match="--n must be > 0"):
        sample(ema_run, 0, tmp_path / "x.npy")
    with pytest.raises(RunError, match="does not exist"):
        load_run(tmp_path / "missing")
    with pytest.raises(RunError, match="not a gankit run folder"):
        load_run(tmp_path)
    (tmp_path / "config.yaml").write_text("{}")
    with pytest.raises(RunError, match="no checkpoint"):
        load_run(tmp_path)


def test_checkpoint_of_another_architecture_is_named(ema_run, tmp_path):
    import json
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(ema_run, copy)
    record = copy / "checkpoints" / "final.json"
    meta = json.loads(record.read_text())
    meta["model"]["kwargs"]["g_hidden"] = [32]
    record.write_text(json.dumps(meta))
    with pytest.raises(RunError, match="does not fit model 'vanilla'"):
        load_run(copy)


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    overrides = ["data.max_items=128", "train.epochs=1", "train.batch_size=32", "model.condition=projection"]
    return train(load_config("mnist-dcgan", overrides=overrides), out=tmp_path_factory.mktemp("c"), quiet=True)


def test_class_and_class_grid(conditional_run, tmp_path):
    from PIL import Image

    path = sample(conditional_run, 4, tmp_path / "grid.png", class_grid=True)
    width, height = Image.open(path).size
    assert height > width  # 10 rows (classes) of 4
    arr = np.load(sample(conditional_run, 6, tmp_path / "three.npy", label=3))
    assert arr.shape == (6, 1, 28, 28)
    with pytest.raises(ConfigError, match="--class must be in 0..9"):
        sample(conditional_run, 2, tmp_path / "x.npy", label=12)


def test_class_needs_a_conditional_run(ema_run, tmp_path):
    with pytest.raises(ConfigError, match="not class-conditional"):
        sample(ema_run, 2, tmp_path / "x.npy", label=1)


def test_truncation_samples_from_w_avg_and_is_refused_without_a_w_space(ema_run, tmp_path):
    overrides = ["model.name=stylegan2", "model.channel_max=8", "model.w_dim=16", "model.mapping_layers=1"]
    overrides += ["data.max_items=64", "train.batch_size=16", "train.epochs=1"]
    run = train(load_config(overrides=overrides), out=tmp_path, quiet=True)
    average = np.load(sample(run, 4, tmp_path / "psi0.npy", truncation=0.0))
    assert np.allclose(average, average[:1], atol=1e-5)  # psi 0: every latent maps to w_avg
    varied = np.load(sample(run, 4, tmp_path / "psi1.npy", truncation=1.0))
    assert not np.allclose(varied, varied[:1], atol=1e-3)
    with pytest.raises(ConfigError, match="--truncation needs a style-based generator"):
        sample(ema_run, 4, tmp_path / "x.npy", truncation=0.7)
