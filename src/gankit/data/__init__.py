"""Named data sets. Each module registers a factory `f(*, root, split, resolution, **options) -> DataSet`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from gankit.data.base import DataSet, to_model_range, to_uint8
from gankit.data.registry import DATASETS
from gankit.data.transforms import convert_channels, resize
from gankit.errors import DataError

# Importing the modules registers them.
from gankit.data import array, celeba, cifar10, folder, idx, mnist5k, signals, stackedmnist, toy2d  # noqa: E402,F401  isort: skip

if TYPE_CHECKING:
    from gankit.data.config import DataConfig


def build_data(section: DataConfig, seed: int) -> DataSet:
    """The data set a config's data section names; `seed` picks the data.max_items subset."""
    s = section
    return build_dataset(
        s.name, s.root, s.split, s.resolution, s.channels, s.max_items, seed, s.classes, s.per_class, **s.kwargs
    )


def build_dataset(
    name: str,
    root: str | None = None,
    split: str = "train",
    resolution: int | None = None,
    channels: int | None = None,
    max_items: int | None = None,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    per_class: int | None = None,
    **options,
) -> DataSet:
    """Load a registered data set whole, then resize / convert channels once and take a seeded subset: the items
    of `classes` (labels and class names unchanged, so a model keeps its label space), `per_class` of each
    class, then `max_items` in all."""
    data = DATASETS.get(name)(root=root, split=split, resolution=resolution, **options)
    if data.is_image:
        data.x = convert_channels(resize(data.x, resolution), channels)
    elif resolution is not None or channels is not None:
        kind = "signals" if data.is_signal else "points"
        raise DataError(f"data set {name!r} holds {kind}, not images: leave data.resolution and data.channels unset")
    if (classes is not None or per_class is not None) and data.labels is None:
        raise DataError(f"data set {name!r} has no labels: leave data.classes and data.per_class unset")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    if classes is not None:
        known = data.num_classes or 0
        if bad := [c for c in classes if not 0 <= c < known]:
            raise DataError(f"data.classes {bad} are not classes of {name!r} (0..{known - 1})")
        order = order[torch.isin(data.labels[order], torch.as_tensor(list(classes)))]
    if per_class is not None:
        rank = torch.zeros(len(order), dtype=torch.long)  # each item's place among its class's items, in `order`
        for c in data.labels[order].unique():
            members = data.labels[order] == c
            rank[members] = torch.arange(int(members.sum()))
        order = order[rank < per_class]
    if max_items is not None:
        order = order[:max_items]
    if len(order) < len(data):
        _keep(data, order)
    return data


def _keep(data: DataSet, keep: torch.Tensor) -> None:
    data.x = data.x[keep]
    data.labels = None if data.labels is None else data.labels[keep]  # units stay: the scale of the whole set


def list_datasets() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered data set."""
    return DATASETS.describe()


__all__ = ["DATASETS", "DataSet", "build_data", "build_dataset", "list_datasets", "to_model_range", "to_uint8"]
