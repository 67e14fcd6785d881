"""The `data` section of a run config: a registered data set, its common fields and its own options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from gankit.data.registry import DATASETS
from gankit.errors import ConfigError
from gankit.typecheck import check_kwargs, positive


@dataclass
class DataConfig:
    name: str = "mnist5k"  # registered data set: `gankit datasets`
    root: str | None = None  # folder or file to read; None for bundled or generated data
    split: Literal["train", "test"] = "train"  # which part of a data set that has both
    resolution: int | None = None  # square side in pixels after load; None keeps the data set's own
    channels: Literal[1, 3] | None = None  # 1 (grey) or 3 (RGB); None keeps the data set's own
    classes: list[int] | None = None  # keep only these classes (labels unchanged); None keeps all
    per_class: int | None = None  # a seeded random subset of this many items of each class; None uses all
    max_items: int | None = None  # a seeded random subset of this many items; None uses all
    cache: bool | None = None  # decode image files once into a cache folder; None: for 10,000 files or more
    cache_dir: str | None = None  # where caches live; None: $GANKIT_CACHE, else ~/.cache/gankit/data
    skip_unreadable: bool = False  # prepare without the image files that cannot be decoded (listed), not refuse
    in_memory: bool | None = None  # hold a prepared set in memory; None: when under 1 GiB, else read from disk
    kwargs: dict[str, Any] = field(default_factory=dict)  # the data set's own options

    def __post_init__(self) -> None:
        positive("data.resolution", self.resolution)
        positive("data.max_items", self.max_items)
        positive("data.per_class", self.per_class)
        if self.classes is not None and (not self.classes or len(set(self.classes)) != len(self.classes)):
            raise ConfigError(f"data.classes must list distinct class indices, got {self.classes}")
        if self.resolution is not None and self.resolution < 4:
            raise ConfigError(f"data.resolution must be >= 4 pixels, got {self.resolution}")
        common = [f.name for f in dataclasses.fields(self) if f.name != "kwargs"]
        skip = ("root", "split", "resolution")
        self.kwargs = check_kwargs(DATASETS, self.name, self.kwargs, "data", skip, common)
