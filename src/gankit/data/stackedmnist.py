"""StackedMNIST (Metz et al. 2017; the mode-collapse benchmark of VEEGAN, PacGAN and R3GAN): three independently
drawn digits as the three channels of one image, so 10 x 10 x 10 = 1,000 modes of known, equal mass."""

from __future__ import annotations

import torch

from gankit.data.base import DataSet
from gankit.data.registry import DATASETS
from gankit.errors import DataError


def stack_digits(digits: DataSet, size: int, seed: int) -> DataSet:
    """`size` stacks of three digits of `digits` (grey, labelled 0-9), each channel's index drawn uniformly and
    independently with replacement; label = 100 x (channel 0's digit) + 10 x (channel 1's) + channel 2's."""
    if digits.labels is None or digits.x.shape[1] != 1 or not digits.is_image:
        raise DataError(f"stackedmnist stacks grey labelled digits; {digits.name!r} is not such a data set")
    if int(digits.labels.max()) > 9:
        raise DataError(f"stackedmnist needs digit labels 0-9; {digits.name!r} has label {int(digits.labels.max())}")
    picks = torch.randint(len(digits), (3, size), generator=torch.Generator().manual_seed(seed))
    x = torch.cat([digits.x[p] for p in picks], dim=1)  # [size, 3, H, W]
    labels = 100 * digits.labels[picks[0]] + 10 * digits.labels[picks[1]] + digits.labels[picks[2]]
    return DataSet(
        "stackedmnist", x, labels, class_names=[f"{k:03d}" for k in range(1000)], judge="lenet-mnist-stacked"
    )


@DATASETS.register("stackedmnist")
def stackedmnist(
    *, root: str | None, split: str, resolution: int | None, source: str = "mnist5k", size: int = 50000, seed: int = 0
) -> DataSet:
    """1,000-mode StackedMNIST: 3 digits as RGB channels, from mnist5k (bundled) or mnist (IDX files at root)."""
    if source not in ("mnist5k", "mnist"):
        raise DataError(f"stackedmnist source must be mnist5k or mnist, got {source!r}")
    if size < 1 or seed < 0:
        raise DataError(f"stackedmnist needs size >= 1 and seed >= 0, got size {size}, seed {seed}")
    # Another seed for the test split: its stacks are new combinations, not the training stacks again.
    digits = DATASETS.get(source)(root=root, split=split, resolution=None)
    return stack_digits(digits, size, seed if split == "train" else seed + 1)
