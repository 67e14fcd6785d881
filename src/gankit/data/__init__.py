"""Named data sets. Each module registers a factory `f(*, root, split, resolution, **options)` that returns a
DataSet in memory, or for sets of image files a FileIndex, which build_dataset decodes (or opens prepared)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from gankit.data.base import DataSet, to_model_range, to_uint8
from gankit.data.cache import AUTO_FILES, MEMORY_LIMIT, FileIndex, Storage, prepared, prepared_array
from gankit.data.disk import DiskImages
from gankit.data.folder import load_images
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
    storage = Storage(s.cache, s.cache_dir, s.skip_unreadable, s.in_memory)
    return build_dataset(
        s.name,
        s.root,
        s.split,
        s.resolution,
        s.channels,
        s.max_items,
        seed,
        s.classes,
        s.per_class,
        storage,
        **s.kwargs,
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
    storage: Storage | None = None,
    **options,
) -> DataSet:
    """Load a registered data set, resized and converted once, then take a seeded subset: the items of `classes`
    (labels and class names unchanged, so a model keeps its label space), `per_class` of each class, then
    `max_items` in all. Files are decoded, or a prepared cache opened, as `storage` says (gankit.data.cache)."""
    storage = storage or Storage()
    made = DATASETS.get(name)(root=root, split=split, resolution=resolution, **options)
    source = {"name": name, "split": split, "resolution": resolution, "channels": channels, "options": options}
    if isinstance(made, FileIndex):
        source["root"] = str(made.root.resolve())
        data = _decoded(made, source, channels, storage)
    elif storage.cache and made.is_image:
        if root is None:
            raise DataError(
                f"data set {name!r} is bundled or generated: it has no files to prepare", "set data.cache=false"
            )
        made.x = convert_channels(resize(made.x, resolution), channels)
        source["root"] = str(Path(root).expanduser().resolve())
        data = prepared_array(made, Path(source["root"]), source, storage)
    else:
        data = made
    if data.is_image and not isinstance(data.x, DiskImages):
        data.x = convert_channels(resize(data.x, resolution), channels)
    elif not data.is_image and (resolution is not None or channels is not None):
        kind = "signals" if data.is_signal else "points"
        raise DataError(f"data set {name!r} holds {kind}, not images: leave data.resolution and data.channels unset")
    order = subset_order(data, seed, classes, per_class, max_items)
    if len(order) < len(data):
        _keep(data, order)
    return data


def subset_order(
    data: DataSet,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    per_class: int | None = None,
    max_items: int | None = None,
) -> torch.Tensor:
    """Indices of the items a seeded subset keeps, in its order: the items of `classes`, `per_class` of each
    class, then `max_items` in all (what build_dataset keeps; an audit needs the items it left out too)."""
    if (classes is not None or per_class is not None) and data.labels is None:
        raise DataError(f"data set {data.name!r} has no labels: leave data.classes and data.per_class unset")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    if classes is not None:
        known = data.num_classes or 0
        if bad := [c for c in classes if not 0 <= c < known]:
            raise DataError(f"data.classes {bad} are not classes of {data.name!r} (0..{known - 1})")
        order = order[torch.isin(data.labels[order], torch.as_tensor(list(classes)))]
    if per_class is not None:
        rank = torch.zeros(len(order), dtype=torch.long)  # each item's place among its class's items, in `order`
        for c in data.labels[order].unique():
            members = data.labels[order] == c
            rank[members] = torch.arange(int(members.sum()))
        order = order[rank < per_class]
    if max_items is not None:
        order = order[:max_items]
    return order


def _decoded(index: FileIndex, source: dict, channels: int | None, storage: Storage) -> DataSet:
    """A file-based set: through its cache (from AUTO_FILES files on, or as data.cache says), else decoded here."""
    if storage.cache if storage.cache is not None else len(index.files) >= AUTO_FILES:
        return prepared(index, source, channels, storage)
    labels = None if index.labels is None else torch.tensor(index.labels)
    return DataSet(index.name, load_images(index.files, index.resolution, index.crop), labels, index.class_names)


def _keep(data: DataSet, keep: torch.Tensor) -> None:
    if isinstance(data.x, DiskImages):  # a subset small enough for memory is read into it, as a small set is
        view = data.x.subset(keep)
        data.x = view[:] if len(view) * view.row_bytes <= MEMORY_LIMIT else view
    else:
        data.x = data.x[keep]
    data.labels = None if data.labels is None else data.labels[keep]  # units stay: the scale of the whole set


def list_datasets() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered data set."""
    return DATASETS.describe()


__all__ = [
    "DATASETS",
    "DataSet",
    "Storage",
    "build_data",
    "build_dataset",
    "list_datasets",
    "subset_order",
    "to_model_range",
    "to_uint8",
]
